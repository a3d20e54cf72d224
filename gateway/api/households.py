"""Household files (一户一档) and the places and organisations of a grid (五要素).

Reading needs a role that reads resident data, writing one that edits it
(contracts/roles.py; each route's roles are in the OpenAPI document). Every call carries
the caller to the grid service: a record outside the caller's scopes is 404. Phones are
masked unless the role needs them (such reads are audited); ID numbers are shown masked,
and in full only one member at a time, to a role that needs it, with a reason (audited).
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
    RevealOut,
    RevealReasonIn,
)
from contracts.roles import ID_REVEALERS, RESIDENT_EDITORS, RESIDENT_READERS
from gateway.api.grid_access import client_id, grid, query
from gateway.body import json_body
from gateway.security import current_caller, requires_roles

bp = Blueprint("households", __name__, url_prefix="/api/v1")


# --- households -------------------------------------------------------------------------
@bp.post("/households")
@requires_roles(*RESIDENT_EDITORS)
def create_household():
    """Open a household file in a grid of the caller's scope.
    Exactly one member is the head. Idempotency-Key header or client_id: the same id and
    body answer once.
    ---
    security: bearer
    requestBody: HouseholdCreateIn
    responses: {201: HouseholdOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(HouseholdCreateIn())
    cid = client_id(data)
    created = grid("create_household", data, cid, caller=current_caller())
    return jsonify(HouseholdOut().dump(created)), 201


@bp.get("/households")
@requires_roles(*RESIDENT_READERS)
def search_households():
    """Search household files in scope by member name (prefix), tag, building or grid.
    Paged with `limit` and `offset`; `next_offset` is null on the last page.
    ---
    security: bearer
    parameters: [name, tag, building, grid_code, limit, offset]
    responses: {200: HouseholdPageOut, 400: Error, 401: Error, 403: Error}
    """
    args = query(HouseholdSearchQuery())
    limit, offset = args["limit"], args["offset"]
    found = grid(
        "search_households",
        name=args.get("name"),
        tag=args.get("tag"),
        building=args.get("building"),
        grid_code=args.get("grid_code"),
        limit=limit + 1,  # one more tells whether a next page exists
        skip=offset,
        caller=current_caller(),
    )
    page = {
        "items": found[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(found) > limit else None,
    }
    return jsonify(HouseholdPageOut().dump(page))


@bp.post("/households/find-by-id-number")
@requires_roles(*RESIDENT_EDITORS)
def find_by_id_number():
    """Households in scope with a member holding this ID number (the look-up is audited).
    POST keeps the number out of URLs and logs.
    ---
    security: bearer
    requestBody: IdNumberIn
    responses: {200: [HouseholdLineOut], 400: Error, 401: Error, 403: Error}
    """
    data = json_body(IdNumberIn())
    found = grid("find_by_id_number", data["id_number"], caller=current_caller())
    return jsonify(HouseholdLineOut(many=True).dump(found))


@bp.post("/households/<household_id>/members/<member_id>/reveal-id-number")
@requires_roles(*ID_REVEALERS)
def reveal_id_number(household_id: str, member_id: str):
    """One member's full ID number, for a role that needs it, with the reason why.
    The reveal is audited with its reason (`id_revealed` in /grid-audit); the answer is
    never cached. 404 outside the caller's scopes or when no full number is kept.
    ---
    security: bearer
    requestBody: RevealReasonIn
    responses: {200: RevealOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(RevealReasonIn())
    shown = grid(
        "reveal_id_number", household_id, member_id, data["reason"], caller=current_caller()
    )
    response = jsonify(RevealOut().dump(shown))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/households/<household_id>")
@requires_roles(*RESIDENT_READERS)
def get_household(household_id: str):
    """One household file (404 outside the caller's scopes).
    ---
    security: bearer
    responses: {200: HouseholdOut, 401: Error, 403: Error, 404: Error}
    """
    found = grid("get_household", household_id, caller=current_caller())
    return jsonify(HouseholdOut().dump(found))


@bp.patch("/households/<household_id>")
@requires_roles(*RESIDENT_EDITORS)
def update_household(household_id: str):
    """Change a household file based on `version`.
    A stale version is 409
    with the file as stored now in details.current; masked phones and ID numbers sent back
    keep the stored ones.
    ---
    security: bearer
    requestBody: HouseholdUpdateIn
    responses: {200: HouseholdOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(HouseholdUpdateIn())
    version = data.pop("version")
    updated = grid("update_household", household_id, data, version, caller=current_caller())
    return jsonify(HouseholdOut().dump(updated))


# --- places and organisations -----------------------------------------------------------
@bp.post("/places")
@requires_roles(*RESIDENT_EDITORS)
def create_place():
    """Record a place or organisation (shop, school, facility, hazard point…) in a grid.
    The grid must lie in the caller's scopes.
    ---
    security: bearer
    requestBody: PlaceCreateIn
    responses: {201: PlaceOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(PlaceCreateIn())
    cid = client_id(data)
    created = grid("create_place", data, cid, caller=current_caller())
    return jsonify(PlaceOut().dump(created)), 201


@bp.get("/places")
@requires_roles(*RESIDENT_READERS)
def list_places():
    """Places and organisations under a grid (contact phones masked in lists).
    The grid must lie in the caller's scopes (else 404).
    ---
    security: bearer
    parameters: [grid_code, kind]
    responses: {200: [PlaceOut], 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(PlaceListQuery())
    caller = current_caller()
    code = caller.require_visible(args["grid_code"], "grid_code")
    found = grid("list_places", code, kind=args.get("kind"), caller=caller)
    return jsonify(PlaceOut(many=True).dump(found))


@bp.get("/places/<place_id>")
@requires_roles(*RESIDENT_READERS)
def get_place(place_id: str):
    """One place or organisation record (404 outside the caller's scopes).
    The contact
    phone is unmasked only for roles that need it (such reads are audited).
    ---
    security: bearer
    responses: {200: PlaceOut, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(PlaceOut().dump(grid("get_place", place_id, caller=current_caller())))


@bp.patch("/places/<place_id>")
@requires_roles(*RESIDENT_EDITORS)
def update_place(place_id: str):
    """Change a place record based on `version` (stale: 409 with the current record).
    The place must lie in the caller's scopes (else 404).
    ---
    security: bearer
    requestBody: PlaceUpdateIn
    responses: {200: PlaceOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(PlaceUpdateIn())
    version = data.pop("version")
    updated = grid("update_place", place_id, data, version, caller=current_caller())
    return jsonify(PlaceOut().dump(updated))


# --- audit of personal data --------------------------------------------------------------
@bp.get("/grid-audit")
@requires_roles("operator", "county_admin")
def grid_audit():
    """Unmasked reads, ID-number look-ups and unmasked exports of resident data, newest
    first; entries about grids outside the caller's scopes are left out.
    ---
    security: bearer
    parameters: [kind, actor, limit]
    responses: {200: [GridAuditOut], 400: Error, 401: Error, 403: Error}
    """
    args = query(AuditQuery())
    entries = grid(
        "list_audit",
        kind=args.get("kind"),
        actor=args.get("actor"),
        limit=args["limit"],
        caller=current_caller(),
    )
    return jsonify(GridAuditOut(many=True).dump(entries))
