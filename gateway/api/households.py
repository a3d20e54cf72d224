"""Household files (一户一档) and the places and organisations of a grid (五要素).

Roles: reading needs grid_worker, grid_leader, instructor or a county/town/community
admin; writing needs grid_worker, grid_leader or a county/town/community admin. Every call
carries the caller's id, roles and scopes to the grid service: a record outside the
caller's scopes is 404. Phones are masked unless the role needs them (such reads are
audited); ID numbers are only ever shown masked.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.grid_http import (
    AuditQuery,
    GridAuditOut,
    HouseholdCreateIn,
    HouseholdLineOut,
    HouseholdOut,
    HouseholdPageOut,
    HouseholdSearchQuery,
    HouseholdUpdateIn,
    IdNumberIn,
    PlaceCreateIn,
    PlaceListQuery,
    PlaceOut,
    PlaceUpdateIn,
)
from gateway.api.grid_access import EDITORS, READERS, caller, client_id, grid, query, scopes
from gateway.body import json_body
from gateway.security import current_principal, requires_roles

bp = Blueprint("households", __name__, url_prefix="/api/v1")


def _resident_call(method: str, *args):
    c = caller()
    return grid(method, *args, c["actor"], c["roles"], c["scopes"])


# --- households -------------------------------------------------------------------------
@bp.post("/households")
@requires_roles(*EDITORS)
def create_household():
    """Open a household file in a grid of the caller's scope.
    Roles: grid_worker, grid_leader, county/town/community admin. Exactly one member is
    the head. Idempotency-Key header or client_id: the same id and body answer once.
    ---
    security: bearer
    requestBody: HouseholdCreateIn
    responses: {201: HouseholdOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(HouseholdCreateIn())
    cid = client_id(data)
    created = _resident_call("create_household", data, cid)
    return jsonify(HouseholdOut().dump(created)), 201


@bp.get("/households")
@requires_roles(*READERS)
def search_households():
    """Search household files in scope by member name (prefix), tag, building or grid.
    Roles: grid_worker, grid_leader, instructor, county/town/community admin. Paged with
    `limit` and `offset`; `next_offset` is null on the last page.
    ---
    security: bearer
    parameters: [name, tag, building, grid_code, limit, offset]
    responses: {200: HouseholdPageOut, 400: Error, 401: Error, 403: Error}
    """
    args = query(HouseholdSearchQuery())
    limit, offset = args["limit"], args["offset"]
    found = grid(
        "search_households",
        scopes(),
        args.get("name"),
        args.get("tag"),
        args.get("building"),
        args.get("grid_code"),
        limit + 1,  # one more tells whether a next page exists
        offset,
    )
    page = {
        "items": found[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(found) > limit else None,
    }
    return jsonify(HouseholdPageOut().dump(page))


@bp.post("/households/find-by-id-number")
@requires_roles(*EDITORS)
def find_by_id_number():
    """Households in scope with a member holding this ID number (the look-up is audited).
    Roles: grid_worker, grid_leader, county/town/community admin. POST keeps the number
    out of URLs and logs.
    ---
    security: bearer
    requestBody: IdNumberIn
    responses: {200: [HouseholdLineOut], 400: Error, 401: Error, 403: Error}
    """
    data = json_body(IdNumberIn())
    found = _resident_call("find_by_id_number", data["id_number"])
    return jsonify(HouseholdLineOut(many=True).dump(found))


@bp.get("/households/<household_id>")
@requires_roles(*READERS)
def get_household(household_id: str):
    """One household file (404 outside the caller's scopes).
    Roles: grid_worker, grid_leader, instructor, county/town/community admin.
    ---
    security: bearer
    responses: {200: HouseholdOut, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(HouseholdOut().dump(_resident_call("get_household", household_id)))


@bp.patch("/households/<household_id>")
@requires_roles(*EDITORS)
def update_household(household_id: str):
    """Change a household file based on `version`.
    Roles: grid_worker, grid_leader, county/town/community admin. A stale version is 409
    with the file as stored now in details.current; masked phones and ID numbers sent back
    keep the stored ones.
    ---
    security: bearer
    requestBody: HouseholdUpdateIn
    responses: {200: HouseholdOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(HouseholdUpdateIn())
    version = data.pop("version")
    c = caller()
    updated = grid(
        "update_household", household_id, data, version, c["actor"], c["roles"], c["scopes"]
    )
    return jsonify(HouseholdOut().dump(updated))


# --- places and organisations -----------------------------------------------------------
@bp.post("/places")
@requires_roles(*EDITORS)
def create_place():
    """Record a place or organisation (shop, school, facility, hazard point…) in a grid.
    Roles: grid_worker, grid_leader, county/town/community admin; the grid in scope.
    ---
    security: bearer
    requestBody: PlaceCreateIn
    responses: {201: PlaceOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(PlaceCreateIn())
    cid = client_id(data)
    return jsonify(PlaceOut().dump(_resident_call("create_place", data, cid))), 201


@bp.get("/places")
@requires_roles(*READERS)
def list_places():
    """Places and organisations under a grid (contact phones masked in lists).
    Roles: grid_worker, grid_leader, instructor, county/town/community admin; in scope.
    ---
    security: bearer
    parameters: [grid_code, kind]
    responses: {200: [PlaceOut], 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(PlaceListQuery())
    c = caller()
    found = grid("list_places", args["grid_code"], c["scopes"], args.get("kind"), c["roles"])
    return jsonify(PlaceOut(many=True).dump(found))


@bp.get("/places/<place_id>")
@requires_roles(*READERS)
def get_place(place_id: str):
    """One place or organisation record (404 outside the caller's scopes).
    Roles: grid_worker, grid_leader, instructor, county/town/community admin. The contact
    phone is unmasked only for roles that need it (such reads are audited).
    ---
    security: bearer
    responses: {200: PlaceOut, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(PlaceOut().dump(_resident_call("get_place", place_id)))


@bp.patch("/places/<place_id>")
@requires_roles(*EDITORS)
def update_place(place_id: str):
    """Change a place record based on `version` (stale: 409 with the current record).
    Roles: grid_worker, grid_leader, county/town/community admin; in scope (else 404).
    ---
    security: bearer
    requestBody: PlaceUpdateIn
    responses: {200: PlaceOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(PlaceUpdateIn())
    version = data.pop("version")
    c = caller()
    updated = grid("update_place", place_id, data, version, c["actor"], c["roles"], c["scopes"])
    return jsonify(PlaceOut().dump(updated))


# --- audit of personal data --------------------------------------------------------------
def _about(entry: dict) -> str:
    detail = entry.get("detail") or {}
    return str(detail.get("grid_code") or detail.get("prefix") or "")


@bp.get("/grid-audit")
@requires_roles("operator", "county_admin")
def grid_audit():
    """Unmasked reads, ID-number look-ups and unmasked exports of resident data, newest
    first. Roles: operator, county_admin; entries about grids outside their scopes are left
    out.
    ---
    security: bearer
    parameters: [kind, actor, limit]
    responses: {200: [GridAuditOut], 400: Error, 401: Error, 403: Error}
    """
    args = query(AuditQuery())
    principal = current_principal()
    entries = grid(
        "list_audit", args.get("kind"), args.get("actor"), args["limit"], scopes=scopes()
    )
    # the service leaves out entries outside the scopes; checked here again (defence in
    # depth): an entry names the grid (reads) or the prefix (exports) it was about; ID
    # look-ups name none and are kept
    kept = [e for e in entries if principal.covers(_about(e)) or not _about(e)]
    return jsonify(GridAuditOut(many=True).dump(kept))
