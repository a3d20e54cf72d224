"""How the grid endpoints call the grid service on the caller's behalf: who may do what,
which records the caller may see, query parameters and client ids.

A record outside the caller's scopes answers 404 (DESIGN §3.4: nobody learns what exists
outside their grids); a role that may not do something at all answers 403.
"""

from __future__ import annotations

import uuid

from flask import current_app, request
from marshmallow import Schema

from contracts.errors import NotFound, ValidationFailed
from contracts.scope import narrowest
from gateway.rpc import RpcPool
from gateway.security import Principal, current_principal

# Who may do what (documented on each endpoint):
# the registry itself: grids, divisions, posts, imports, exports
ADMINS = ("operator", "county_admin", "town_admin", "community_admin")
# read resident data (household files, places, visits) in their scopes
READERS = (
    "grid_worker",
    "grid_leader",
    "instructor",
    "community_admin",
    "town_admin",
    "county_admin",
)
# write resident data (household files, places, visits)
EDITORS = ("grid_worker", "grid_leader", "community_admin", "town_admin", "county_admin")
# see the duty board and the grid-rule warnings of their grids
LEADERS = ("grid_leader", "instructor", *ADMINS)
# staff with posts on grids
STAFF = ("grid_worker", "grid_leader", "instructor")

IDEMPOTENCY_HEADER = "Idempotency-Key"


def rpc() -> RpcPool:
    return current_app.extensions["rpc"]


def slow_rpc() -> RpcPool:
    """The pool with a long timeout, for imports and exports of whole counties."""
    return current_app.extensions["slow_rpc"]


def grid(method: str, *args, **kwargs):
    return rpc().call("grid", method, *args, **kwargs)


def caller() -> dict:
    """The caller as the grid service wants it on resident-data calls."""
    p = current_principal()
    return {"actor": p.id, "roles": list(p.roles), "scopes": list(p.scopes)}


def scopes() -> list[str]:
    return list(current_principal().scopes)


def visible(code: str, what: str = "grid_code") -> str:
    """`code` if it lies inside the caller's scopes, else 404 (as if it did not exist)."""
    if not current_principal().covers(code):
        raise NotFound(details={what: code})
    return code


def prefixes(principal: Principal, wanted: str | None) -> list[str]:
    """The code prefixes a listing should cover: `wanted` narrowed to the caller's scopes.

    A wanted prefix above a scope (county asked, town held) lists the scope; one inside a
    scope lists itself; one beside every scope lists nothing.
    """
    held = narrowest(principal.scopes)
    if not wanted:
        return held
    if principal.covers(wanted):
        return [wanted]
    return [s for s in held if s.startswith(wanted)]


def query(schema: Schema) -> dict:
    """Query parameters through a schema: unknown or bad ones are a 400 naming them."""
    return schema.load(request.args.to_dict(flat=True))


def client_id(data: dict, required: bool = False) -> str:
    """The command's client id: the Idempotency-Key header or the body's client_id.

    Without either, a fresh id is made (the command then is not safe to repeat) unless
    `required`.
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
