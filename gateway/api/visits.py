"""Home visits (入户走访): logging them from the phone, listing them, and visit coverage.

Roles: grid_worker and grid_leader log visits to households in their scopes; readers of
resident data (workers, leaders, instructors, county/town/community admins) list them.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.grid_http import CoverageOut, VisitIn, VisitListQuery, VisitOut
from gateway.api.grid_access import READERS, caller, client_id, grid, query, scopes, visible
from gateway.body import json_body
from gateway.security import requires_roles

bp = Blueprint("visits", __name__, url_prefix="/api/v1")


@bp.post("/visits")
@requires_roles("grid_worker", "grid_leader")
def log_visit():
    """Log a home visit by the signed-in worker.
    Roles: grid_worker, grid_leader; the household in scope (else 404). A client id is
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
    c = caller()
    visit = grid("log_visit", data, cid, c["actor"], c["roles"], c["scopes"])
    return jsonify(VisitOut().dump(visit)), 201


@bp.get("/visits")
@requires_roles(*READERS)
def list_visits():
    """Visits, newest first, by grid (and everything under it), household or worker.
    Roles: grid_worker, grid_leader, instructor, county/town/community admin; in scope.
    ---
    security: bearer
    parameters: [grid_code, household_id, worker_id, limit]
    responses: {200: [VisitOut], 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(VisitListQuery())
    found = grid(
        "list_visits",
        scopes(),
        args.get("grid_code"),
        args.get("household_id"),
        args.get("worker_id"),
        args["limit"],
    )
    return jsonify(VisitOut(many=True).dump(found))


@bp.get("/grids/<code>/visit-coverage")
@requires_roles(*READERS)
def grid_coverage(code: str):
    """Visit coverage of a grid in its duty period (quarter for levels 2–3, year for 1),
    with the overdue households.
    Roles: grid_worker, grid_leader, instructor, county/town/community admin; in scope.
    ---
    security: bearer
    responses: {200: CoverageOut, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(CoverageOut().dump(grid("grid_coverage", visible(code), scopes())))
