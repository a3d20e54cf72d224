"""Who serves a grid: staff posts (A/B), who is on duty, the emergency reserve team, the
party overlay, a worker's own grids and the leader's duty board.

Posts and the reserve team are changed by an admin covering the grid; grid leaders may also
mark their workers absent and keep the reserve and party links. Every route naming a grid
answers 404 when the grid lies outside the caller's scopes. The roles of each route are
listed in the OpenAPI document (generated from its decorator).
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from contracts.errors import ValidationFailed
from contracts.grid_http import (
    AbsenceIn,
    AbsenceQuery,
    DutyBoardOut,
    DutyBoardQuery,
    MyGridOut,
    OnDutyOut,
    PartyLinkIn,
    PartyLinkOut,
    PartyOverlayOut,
    PartyUnitIn,
    PartyUnitOut,
    PostIn,
    PostListQuery,
    PostOut,
    ReserveMemberIn,
    ReserveMemberOut,
)
from contracts.roles import GRID_ADMINS, GRID_KEEPERS, GRID_LEADERS, GRID_STAFF, RESIDENT_READERS
from gateway.api.grid_access import grid, query
from gateway.body import json_body
from gateway.security import authenticated, current_caller, requires_roles

bp = Blueprint("grid_staff", __name__, url_prefix="/api/v1")
IS_GRID_CODE = "-"  # grid codes carry segments after the village code; divisions do not


# --- staff posts ------------------------------------------------------------------------
@bp.get("/grids/<code>/posts")
@authenticated()
def list_posts(code: str):
    """Posts on a grid (`subtree=true`: on it and every grid under it).
    Any signed-in user whose scopes cover the grid (else 404).
    ---
    security: bearer
    parameters: [subtree]
    responses: {200: [PostOut], 400: Error, 401: Error, 404: Error}
    """
    args = query(PostListQuery())
    caller = current_caller()
    found = grid("list_posts", caller.require_visible(code), args["subtree"], caller=caller)
    return jsonify(PostOut(many=True).dump(found))


@bp.post("/grids/<code>/posts")
@requires_roles(*GRID_ADMINS)
def assign_post(code: str):
    """Put a user in a post on a grid (A or B on levels 2 and 3); the same twice is one.
    ---
    security: bearer
    requestBody: PostIn
    responses: {200: PostOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(PostIn())
    caller = current_caller()
    post = grid("assign_post", {**data, "grid_code": caller.require_visible(code)}, caller=caller)
    return jsonify(PostOut().dump(post))


@bp.delete("/grids/<code>/posts/<user_id>/<post>")
@requires_roles(*GRID_ADMINS)
def remove_post(code: str, user_id: str, post: str):
    """End a user's post on a grid.
    ---
    security: bearer
    responses: {204: null, 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    grid("remove_post", caller.require_visible(code), user_id, post, caller=caller)
    return "", 204


@bp.put("/grids/<code>/posts/<user_id>/absence")
@requires_roles(*GRID_KEEPERS)
def set_absent(code: str, user_id: str):
    """Mark a worker absent (the B post takes over) or back; answers who is on duty now.
    ---
    security: bearer
    requestBody: AbsenceIn
    responses: {200: OnDutyOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(AbsenceIn())
    caller = current_caller()
    duty = grid("set_absent", caller.require_visible(code), user_id, data["absent"], caller=caller)
    return jsonify(OnDutyOut().dump(duty))


@bp.get("/grids/<code>/posts/<user_id>/absence-preview")
@requires_roles(*GRID_KEEPERS)
def preview_absence(code: str, user_id: str):
    """Who would be on duty if the worker were marked absent (or back): a dry run of the
    PUT above, so the PWA shows the grid service's answer instead of porting its rule.
    Nothing is saved.
    ---
    security: bearer
    parameters: [absent]
    responses: {200: OnDutyOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(AbsenceQuery())
    caller = current_caller()
    code = caller.require_visible(code)
    duty = grid("set_absent", code, user_id, args["absent"], dry_run=True, caller=caller)
    return jsonify(OnDutyOut().dump(duty))


@bp.get("/grids/<code>/on-duty")
@authenticated(allow_api_key=True)
def on_duty(code: str):
    """Who handles grid X now: A, or B while A is absent, up to the level-1 leader.
    Any signed-in user or API key whose scopes cover the grid (else 404).
    ---
    security: [bearer, apiKey]
    responses: {200: OnDutyOut, 401: Error, 404: Error}
    """
    caller = current_caller()
    return jsonify(OnDutyOut().dump(grid("on_duty", caller.require_visible(code), caller=caller)))


# --- reserve team and party overlay -------------------------------------------------------
@bp.get("/grids/<code>/reserve")
@requires_roles(*RESIDENT_READERS, "operator")
def list_reserve(code: str):
    """The emergency reserve team (应急预备队) of a level-1 grid.
    ---
    security: bearer
    responses: {200: [ReserveMemberOut], 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    members = grid("list_reserve", caller.require_visible(code), caller=caller)
    return jsonify(ReserveMemberOut(many=True).dump(members))


@bp.post("/grids/<code>/reserve")
@requires_roles(*GRID_KEEPERS)
def add_reserve_member(code: str):
    """Add someone to a level-1 grid's reserve team; the same name and kind twice is one.
    ---
    security: bearer
    requestBody: ReserveMemberIn
    responses: {200: ReserveMemberOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(ReserveMemberIn())
    caller = current_caller()
    member = grid("add_reserve_member", caller.require_visible(code), data, caller=caller)
    return jsonify(ReserveMemberOut().dump(member))


@bp.delete("/grids/<code>/reserve/<path:member_id>")
@requires_roles(*GRID_KEEPERS)
def remove_reserve_member(code: str, member_id: str):
    """Take someone off a level-1 grid's reserve team.
    ---
    security: bearer
    responses: {204: null, 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    grid("remove_reserve_member", caller.require_visible(code), member_id, caller=caller)
    return "", 204


@bp.get("/grids/<code>/party")
@requires_roles(*RESIDENT_READERS, "operator")
def party_overlay(code: str):
    """Party units on the grids under `code` and party members' household links.
    ---
    security: bearer
    responses: {200: PartyOverlayOut, 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    overlay = grid("party_overlay", caller.require_visible(code), caller=caller)
    return jsonify(PartyOverlayOut().dump(overlay))


@bp.put("/grids/<code>/party-unit")
@requires_roles(*GRID_ADMINS)
def set_party_unit(code: str):
    """Set the party branch or group on a grid (支部建在网格上).
    ---
    security: bearer
    requestBody: PartyUnitIn
    responses: {200: PartyUnitOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(PartyUnitIn())
    caller = current_caller()
    unit = grid("set_party_unit", caller.require_visible(code), data, caller=caller)
    return jsonify(PartyUnitOut().dump(unit))


@bp.put("/grids/<code>/party-links")
@requires_roles(*GRID_KEEPERS)
def link_party_member(code: str):
    """Link a party member to the households they serve (党员联户); replaces their links.
    ---
    security: bearer
    requestBody: PartyLinkIn
    responses: {200: PartyLinkOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(PartyLinkIn())
    caller = current_caller()
    link = grid(
        "link_party_member",
        caller.require_visible(code),
        data["member"],
        data["household_ids"],
        caller=caller,
    )
    return jsonify(PartyLinkOut().dump(link))


@bp.delete("/grids/<code>/party-links/<path:member_key>")
@requires_roles(*GRID_KEEPERS)
def unlink_party_member(code: str, member_key: str):
    """Remove a party member's household links in a grid (the inverse of linking).
    `member_key` is the member's user id when linked with one, else their name, as the
    party overlay lists it; 404 when the member has no links there.
    ---
    security: bearer
    responses: {204: null, 401: Error, 403: Error, 404: Error}
    """
    caller = current_caller()
    grid("unlink_party_member", caller.require_visible(code), member_key, caller=caller)
    return "", 204


# --- a worker's grids and the leader's duty board -----------------------------------------
@bp.get("/me/grids")
@requires_roles(*GRID_STAFF)
def my_grids():
    """The grids the signed-in worker holds posts on, with visit coverage of each.
    ---
    security: bearer
    responses: {200: [MyGridOut], 401: Error, 403: Error}
    """
    found = grid("my_grids", caller=current_caller())
    return jsonify(MyGridOut(many=True).dump(found))


@bp.get("/duty-board")
@requires_roles(*GRID_LEADERS)
def duty_board():
    """The leader's board: staff on duty and visit coverage/overdue per grid under `code`.
    Without `code`, the caller's first grid scope.
    ---
    security: bearer
    parameters: [code]
    responses: {200: DutyBoardOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(DutyBoardQuery())
    code = args.get("code")
    caller = current_caller()
    if not code:
        grids = [s for s in caller.scopes if IS_GRID_CODE in s]
        if not grids:
            raise ValidationFailed(details={"code": "required: your scope is not one grid"})
        code = grids[0]
    board = grid("duty_board", caller.require_visible(code), caller=caller)
    return jsonify(DutyBoardOut().dump(board))
