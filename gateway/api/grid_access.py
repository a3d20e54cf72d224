"""What the grid blueprints share: the RPC pools, query parameters and client ids.

Who may do what is declared on each route with `@requires_roles(...)` (role groups from
contracts/roles.py, one list for the gateway, the service and the PWA); the caller goes to
the grid service as one `caller=` (gateway.security.current_caller), which checks scope
again. A route naming a grid checks it here too, once, with the same rule:
`current_caller().require_visible(code)` (404 outside: nobody learns what exists there).
"""

from __future__ import annotations

import uuid

from flask import current_app, request
from marshmallow import Schema

from contracts.errors import ValidationFailed
from gateway.rpc import RpcPool

IDEMPOTENCY_HEADER = "Idempotency-Key"


def grid(method: str, *args, **kwargs):
    """Call the grid service (named errors from it pass through)."""
    pool: RpcPool = current_app.extensions["rpc"]
    return pool.call("grid", method, *args, **kwargs)


def slow_grid(method: str, *args, **kwargs):
    """The same over the pool with a long timeout: imports and exports of whole counties."""
    pool: RpcPool = current_app.extensions["slow_rpc"]
    return pool.call("grid", method, *args, **kwargs)


def query(schema: Schema) -> dict:
    """Query parameters through a schema: unknown or bad ones are a 400 naming them."""
    return schema.load(request.args.to_dict(flat=True))


def client_id(data: dict, required: bool = False) -> str:
    """The command's client id: the Idempotency-Key header or the body's client_id.

    Without either, a fresh id is made (the command then is not safe to repeat) unless
    `required`. The grid service keys it per caller: one user's id never meets another's.
    """
    header = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    body = data.pop("client_id", None)
    if header and body and header != body:
        raise ValidationFailed(
            details={"client_id": f"differs from the {IDEMPOTENCY_HEADER} header"}
        )
    found = header or body
    if found and not (8 <= len(found) <= 64):
        raise ValidationFailed(details={"client_id": "8 to 64 characters"})
    if not found:
        if required:
            raise ValidationFailed(
                details={"client_id": f"required (or the {IDEMPOTENCY_HEADER} header)"}
            )
        found = uuid.uuid4().hex
    return found
