"""A write that does nothing but be received once: lets the PWA (and its tests) check that
queued offline writes arrive, and arrive once."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from contracts.identity import EchoIn
from gateway.body import json_body
from gateway.security import authenticated, current_principal

bp = Blueprint("echo", __name__, url_prefix="/api/v1")


@bp.post("/echo")
@authenticated()
def echo():
    """Receive a client-numbered write once; a replay answers the first receipt.
    ---
    security: bearer
    requestBody: EchoIn
    responses: {200: null, 400: Error, 401: Error, 409: Error}
    """
    data = json_body(EchoIn())
    client_id = request.headers.get("Idempotency-Key") or data["client_id"]
    receipt = current_app.extensions["rpc"].call(
        "notify", "echo", current_principal().id, client_id, data.get("payload")
    )
    return jsonify(receipt)
