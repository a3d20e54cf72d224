"""Home visits (入户走访): logging them from the phone, listing them, and visit coverage.

Grid workers and leaders log visits to households in their scopes; readers of
resident data (workers, leaders, instructors, county/town/community admins) list them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.grid_http import CoverageOut, VisitIn, VisitListQuery, VisitOut, VoidIn
from contracts.roles import GRID_KEEPERS, RESIDENT_READERS, VISITORS
from gateway.api.grid_access import client_id, grid, query
from gateway.body import json_body
from gateway.security import current_caller, requires_roles

bp = Blueprint("visits", __name__, url_prefix="/api/v1")


@bp.post("/visits")
@requires_roles(*VISITORS)
def log_visit():
    """Log a home visit by the signed-in worker.
    The household must lie in the caller's scopes (else 404). A client id is
    required (Idempotency-Key header or client_id): sent again with the same body it is
    recorded once and answers the first result; with another body it is 409
    idempotency_conflict.
    ---
    security: bearer
    requestBody: VisitIn
    responses: {201: VisitOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(VisitIn())
    cid = client_id(data, required=True)
    if "occurred_at" in data:
        data["occurred_at"] = data["occurred_at"].isoformat()
    visit = grid("log_visit", data, cid, caller=current_caller())
    return jsonify(VisitOut().dump(visit)), 201


@bp.post("/visits/<visit_id>/void")
@requires_roles(*GRID_KEEPERS)
def void_visit(visit_id: str):
    """Strike off a visit logged in error, with a reason (kept in its history; points
    reverse what it earned). The visit must lie in the caller's scopes (else 404); voiding
    twice is once.
    ---
    security: bearer
    requestBody: VoidIn
    responses: {200: VisitOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(VoidIn())
    voided = grid("void_visit", visit_id, data["reason"], caller=current_caller())
    return jsonify(VisitOut().dump(voided))


@bp.get("/visits")
@requires_roles(*RESIDENT_READERS)
def list_visits():
    """Visits, newest first, by grid (and everything under it), household or worker.
    Only visits in the caller's scopes.
    ---
    security: bearer
    parameters: [grid_code, household_id, worker_id, limit]
    responses: {200: [VisitOut], 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(VisitListQuery())
    found = grid(
        "list_visits",
        grid_code=args.get("grid_code"),
        household_id=args.get("household_id"),
        worker_id=args.get("worker_id"),
        limit=args["limit"],
        caller=current_caller(),
    )
    return jsonify(VisitOut(many=True).dump(found))


@bp.get("/grids/<code>/visit-coverage")
@requires_roles(*RESIDENT_READERS)
def grid_coverage(code: str):
    """Visit coverage of a grid in its duty period (quarter for levels 2–3, year for 1),
    with the overdue households.
    The grid must lie in the caller's scopes (else 404).
    ---
    security: bearer
    responses: {200: CoverageOut, 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    found = grid("grid_coverage", caller.require_visible(code), caller=caller)
    return jsonify(CoverageOut().dump(found))
