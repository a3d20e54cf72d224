"""The grid registry: divisions, grids on the map, locating a point, the public notice board.

Reading grids needs a login and answers only grids inside the caller's scopes (others are
404); changing grids and divisions needs an admin role whose scope covers the code (the
grid service decides which divisions a caller may name). The notice board is public.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.caller import Caller
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
from contracts.roles import GRID_ADMINS, GRID_LEADERS
from gateway.api.grid_access import client_id, grid, query
from gateway.body import json_body
from gateway.security import authenticated, current_caller, requires_roles

bp = Blueprint("grid", __name__, url_prefix="/api/v1")
# The public board shows every grid's staff: the gateway asks on its own account.
PUBLIC = Caller.trusted("gateway")


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
    return jsonify(DivisionOut(many=True).dump(grid("list_divisions", args.get("prefix"))))


@bp.put("/divisions")
@requires_roles("operator", "county_admin")
def put_divisions():
    """Create or rename divisions (codes of 2/4/6/9/12 digits); answers counts.
    Codes below the city level must lie in the caller's scope (else 403).
    ---
    security: bearer
    requestBody: DivisionsIn
    responses: {200: DivisionCountsOut, 400: Error, 401: Error, 403: Error}
    """
    data = json_body(DivisionsIn())
    counts = grid("put_divisions", data["divisions"], caller=current_caller())
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
    found = grid("list_grids", args.get("prefix"), args.get("level"), caller=current_caller())
    return jsonify(GridOut(many=True).dump(found))


@bp.post("/grids")
@requires_roles(*GRID_ADMINS)
def create_grid():
    """Create a grid with its boundary (GeoJSON Polygon, WGS 84).
    The code must lie in the caller's scope (else 403) and fixes level and parent; the
    boundary must be a valid closed ring inside the parent, overlapping no sibling (400
    naming the problem; nothing is written). Idempotency-Key or client_id makes a repeat
    safe.
    ---
    security: bearer
    requestBody: GridCreateIn
    responses: {201: GridOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    data = json_body(GridCreateIn())
    cid = client_id(data)
    caller = current_caller()
    caller.require_writable(data["code"])
    return jsonify(GridOut().dump(grid("create_grid", data, cid, caller=caller))), 201


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
    caller = current_caller()
    found = grid("get_grid", caller.require_visible(code), args["boundary"], caller=caller)
    return jsonify(GridOut().dump(found))


@bp.patch("/grids/<code>")
@requires_roles(*GRID_ADMINS)
def update_grid(code: str):
    """Rename, re-kind or redraw a grid, based on `version` (stale: 409 with the current).
    The grid must lie in the caller's scope (else 404).
    ---
    security: bearer
    requestBody: GridUpdateIn
    responses: {200: GridOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(GridUpdateIn())
    version = data.pop("version")
    caller = current_caller()
    updated = grid("update_grid", caller.require_visible(code), data, version, caller=caller)
    return jsonify(GridOut().dump(updated))


@bp.post("/grids/<code>/retire")
@requires_roles(*GRID_ADMINS)
def retire_grid(code: str):
    """Retire a grid with no live children, households or posts (its code is never reused).
    The grid must lie in the caller's scope (else 404).
    ---
    security: bearer
    requestBody: VersionIn
    responses: {200: GridOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(VersionIn())
    caller = current_caller()
    retired = grid("retire_grid", caller.require_visible(code), data["version"], caller=caller)
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
    caller = current_caller()
    found = grid("grid_geojson", caller.require_visible(code), args["depth"], caller=caller)
    response = jsonify(FeatureCollectionOut().dump(found))
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
    caller = current_caller()
    found = grid("grid_cover", caller.require_visible(code), caller=caller)
    return jsonify(GridCoverOut().dump(found))


@bp.get("/grids/<code>/warnings")
@requires_roles(*GRID_LEADERS)
def grid_warnings(code: str):
    """Grid-rule warnings for a grid and everything under it (sizes, staffing, A/B posts).
    The grid must lie in the caller's scope (else 404).
    ---
    security: bearer
    responses: {200: [GridWarningOut], 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    found = grid("grid_warnings", caller.require_visible(code), caller=caller)
    return jsonify(GridWarningOut(many=True).dump(found))


@bp.get("/grid-warnings")
@requires_roles(*GRID_LEADERS)
def all_grid_warnings():
    """Grid-rule warnings for every grid under a prefix (default: the caller's scopes).
    ---
    security: bearer
    parameters: [prefix]
    responses: {200: [GridWarningOut], 400: Error, 401: Error, 403: Error}
    """
    args = query(GridListQuery(only=("prefix",)))
    caller = current_caller()
    found: list = []
    for prefix in caller.prefixes(args.get("prefix")):
        found += grid("grid_warnings", prefix, caller=caller)
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
    response = jsonify(NoticeBoardOut().dump(grid("notice_board", code, caller=PUBLIC)))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
