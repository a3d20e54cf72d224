"""The grid registry: divisions, grids on the map, locating a point, the public notice board.

Roles: reading grids needs a login and answers only grids inside the caller's scopes
(others are 404); creating, changing and retiring grids and divisions needs an admin role
(operator, county_admin, town_admin, community_admin) whose scope covers the code. The
notice board is public.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.errors import Forbidden
from contracts.grid_http import (
    DivisionCountsOut,
    DivisionListQuery,
    DivisionOut,
    DivisionsIn,
    FeatureCollectionOut,
    GeoJsonQuery,
    GridCoverOut,
    GridCreateIn,
    GridListQuery,
    GridOut,
    GridQuery,
    GridUpdateIn,
    GridWarningOut,
    LocateOut,
    LocateQuery,
    NoticeBoardOut,
    VersionIn,
)
from gateway.api.grid_access import (
    ADMINS,
    LEADERS,
    client_id,
    grid,
    prefixes,
    query,
    scopes,
    visible,
)
from gateway.body import json_body
from gateway.security import authenticated, current_principal, requires_roles

bp = Blueprint("grid", __name__, url_prefix="/api/v1")


def _writable(code: str) -> str:
    """Writes name a code; outside the caller's scopes they are refused (403)."""
    if not current_principal().covers(code):
        raise Forbidden(details={"code": code, "scopes": list(current_principal().scopes)})
    return code


# --- divisions ----------------------------------------------------------------------------
@bp.get("/divisions")
@authenticated()
def list_divisions():
    """Administrative divisions (province … village) under a code prefix.
    Any signed-in user; division names are public.
    ---
    security: bearer
    parameters: [prefix]
    responses: {200: [DivisionOut], 400: Error, 401: Error}
    """
    args = query(DivisionListQuery())
    found = grid("list_divisions", args.get("prefix"))
    return jsonify(DivisionOut(many=True).dump(found))


@bp.put("/divisions")
@requires_roles("operator", "county_admin")
def put_divisions():
    """Create or rename divisions (codes of 2/4/6/9/12 digits); answers counts.
    Roles: operator, county_admin; codes below the county must lie in the caller's scope.
    ---
    security: bearer
    requestBody: DivisionsIn
    responses: {200: DivisionCountsOut, 400: Error, 401: Error, 403: Error}
    """
    data = json_body(DivisionsIn())
    principal = current_principal()
    for division in data["divisions"]:
        code = division["code"]
        # provinces and cities sit above every county scope: naming them is allowed
        if len(code) > 4 and not principal.covers(code):
            raise Forbidden(details={"code": code})
    counts = grid("put_divisions", data["divisions"], principal.id, scopes=scopes())
    return jsonify(DivisionCountsOut().dump({"created": 0, "updated": 0, "unchanged": 0, **counts}))


# --- grids --------------------------------------------------------------------------------
@bp.get("/grids")
@authenticated()
def list_grids():
    """Grids under a code prefix (no boundaries), only those in the caller's scopes.
    Any signed-in user; without `prefix`, every grid in the caller's scopes.
    ---
    security: bearer
    parameters: [prefix, level]
    responses: {200: [GridOut], 400: Error, 401: Error}
    """
    args = query(GridListQuery())
    principal = current_principal()
    found: list = []
    for prefix in prefixes(principal, args.get("prefix")):
        found += grid("list_grids", prefix, args.get("level"), list(principal.scopes))
    return jsonify(GridOut(many=True).dump(found))


@bp.post("/grids")
@requires_roles(*ADMINS)
def create_grid():
    """Create a grid with its boundary (GeoJSON Polygon, WGS 84).
    Roles: operator, county/town/community admin covering the code. The code fixes level
    and parent; the boundary must be a valid closed ring inside the parent, overlapping no
    sibling (400 naming the problem; nothing is written). Idempotency-Key or client_id
    makes a repeat safe.
    ---
    security: bearer
    requestBody: GridCreateIn
    responses: {201: GridOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    data = json_body(GridCreateIn())
    cid = client_id(data)
    _writable(data["code"])
    created = grid("create_grid", data, cid, current_principal().id, scopes=scopes())
    return jsonify(GridOut().dump(created)), 201


@bp.get("/grids/<code>")
@authenticated()
def get_grid(code: str):
    """One grid with its chain of parents; `boundary=true` adds the GeoJSON boundary.
    Any signed-in user whose scopes cover the grid (else 404).
    ---
    security: bearer
    parameters: [boundary]
    responses: {200: GridOut, 400: Error, 401: Error, 404: Error}
    """
    args = query(GridQuery())
    found = grid("get_grid", visible(code), args["boundary"], scopes=scopes())
    return jsonify(GridOut().dump(found))


@bp.patch("/grids/<code>")
@requires_roles(*ADMINS)
def update_grid(code: str):
    """Rename, re-kind or redraw a grid, based on `version` (stale: 409 with the current).
    Roles: operator, county/town/community admin covering the grid (else 404).
    ---
    security: bearer
    requestBody: GridUpdateIn
    responses: {200: GridOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(GridUpdateIn())
    version = data.pop("version")
    updated = grid(
        "update_grid", visible(code), data, version, current_principal().id, scopes=scopes()
    )
    return jsonify(GridOut().dump(updated))


@bp.post("/grids/<code>/retire")
@requires_roles(*ADMINS)
def retire_grid(code: str):
    """Retire a grid with no live children, households or posts (its code is never reused).
    Roles: operator, county/town/community admin covering the grid (else 404).
    ---
    security: bearer
    requestBody: VersionIn
    responses: {200: GridOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(VersionIn())
    retired = grid(
        "retire_grid", visible(code), data["version"], current_principal().id, scopes=scopes()
    )
    return jsonify(GridOut().dump(retired))


@bp.get("/grids/<code>/geojson")
@authenticated()
def grid_geojson(code: str):
    """The grid and its children `depth` levels down as a GeoJSON FeatureCollection.
    Any signed-in user whose scopes cover the grid (else 404).
    ---
    security: bearer
    parameters: [depth]
    responses: {200: FeatureCollectionOut, 400: Error, 401: Error, 404: Error}
    """
    args = query(GeoJsonQuery())
    collection = grid("grid_geojson", visible(code), args["depth"], scopes=scopes())
    response = jsonify(FeatureCollectionOut().dump(collection))
    response.headers["Content-Type"] = "application/geo+json"
    return response


@bp.get("/grids/<code>/cover")
@authenticated()
def grid_cover(code: str):
    """How much of a grid its children leave uncovered (覆盖全面: should be 0).
    Any signed-in user whose scopes cover the grid (else 404).
    ---
    security: bearer
    responses: {200: GridCoverOut, 400: Error, 401: Error, 404: Error}
    """
    return jsonify(GridCoverOut().dump(grid("grid_cover", visible(code), scopes=scopes())))


@bp.get("/grids/<code>/warnings")
@requires_roles(*LEADERS)
def grid_warnings(code: str):
    """Grid-rule warnings for a grid and everything under it (sizes, staffing, A/B posts).
    Roles: grid_leader, instructor, operator, county/town/community admin; in scope.
    ---
    security: bearer
    responses: {200: [GridWarningOut], 401: Error, 403: Error, 404: Error}
    """
    found = grid("grid_warnings", visible(code), scopes=scopes())
    return jsonify(GridWarningOut(many=True).dump(found))


@bp.get("/grid-warnings")
@requires_roles(*LEADERS)
def all_grid_warnings():
    """Grid-rule warnings for every grid under a prefix (default: the caller's scopes).
    Roles: grid_leader, instructor, operator, county/town/community admin.
    ---
    security: bearer
    parameters: [prefix]
    responses: {200: [GridWarningOut], 400: Error, 401: Error, 403: Error}
    """
    args = query(GridListQuery(only=("prefix",)))
    found: list = []
    for prefix in prefixes(current_principal(), args.get("prefix")):
        found += grid("grid_warnings", prefix, scopes=scopes())
    return jsonify(GridWarningOut(many=True).dump(found))


# --- locating a point ---------------------------------------------------------------------
@bp.get("/locate")
@authenticated(allow_api_key=True)
def locate():
    """The deepest grid containing a point (WGS 84) and its chain of parents.
    Any signed-in user or API key (residents report, hotlines dispatch); 404 outside
    every grid.
    ---
    security: [bearer, apiKey]
    parameters: [lon, lat]
    responses: {200: LocateOut, 400: Error, 401: Error, 404: Error}
    """
    args = query(LocateQuery())
    return jsonify(LocateOut().dump(grid("locate", args["lon"], args["lat"])))


# --- the public notice board (一格一牌) -----------------------------------------------------
@bp.get("/public/grids/<code>/notice-board")
def notice_board(code: str):
    """The grid's public notice board: its name, and staff names, posts and phones.
    No login; nothing about households.
    ---
    responses: {200: NoticeBoardOut, 404: Error}
    """
    board = grid("notice_board", code)
    response = jsonify(NoticeBoardOut().dump(board))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
