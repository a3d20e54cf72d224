"""The closed loop (cases): reports, the one transition route for every step, lists, photos,
categories and the calendar, staff figures, and the public board (晒单).

Every route passes the caller as `caller=`; the cases service checks roles and scope again
(a case the caller may not see is 404, a step their role may not take is 403, a step the
state table has no row for is 409 `invalid_transition` with the case as it is now). Writes
take a client id (the `Idempotency-Key` header or `client_id`): the PWA's outbox replays
them safely.
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, jsonify, request

from contracts import cases_http as s
from contracts.errors import PhotoTooLarge, ValidationFailed
from contracts.roles import CASE_STAFF, CATEGORY_EDITORS
from gateway.api.grid_access import client_id, query
from gateway.body import json_body
from gateway.security import authenticated, current_caller, requires_roles

bp = Blueprint("cases", __name__, url_prefix="/api/v1")
# a multipart form wraps the file in a few hundred bytes of headers
UPLOAD_OVERHEAD = 64 * 1024


def cases(method: str, *args, **kwargs):
    """Call the cases service as the signed-in caller (named errors pass through)."""
    return current_app.extensions["rpc"].call(
        "cases", method, *args, caller=current_caller(), **kwargs
    )


def cases_public(method: str, *args, **kwargs):
    """Call the cases service for what anyone may read (no caller)."""
    return current_app.extensions["rpc"].call("cases", method, *args, **kwargs)


# --- reports and steps --------------------------------------------------------------------
@bp.post("/cases")
@authenticated(allow_api_key=True)
def report():
    """Report a problem: category, description, a point (located to its grid), a grid code
    or the visit it was found on; photos uploaded first. Open cases of the same category
    within 50 m and 72 h come back as `possible_duplicates`. Safe to send again with the
    same client id.
    ---
    security: [bearer, apiKey]
    requestBody: CaseIn
    responses: {201: CaseOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    data = json_body(s.CaseIn())
    command = client_id(data)
    return jsonify(cases("report", data, command)), 201


@bp.get("/cases")
@authenticated(allow_api_key=True)
def list_cases():
    """Cases: `view`=scope (staff: every case in my grids), assigned (mine or my unit's to
    handle), reported (mine as reporter or follower), overdue (near or past a limit, 督办),
    verify (waiting to be checked); `next` pages on.
    ---
    security: [bearer, apiKey]
    parameters: [view, state, grid_code, category, limit, before]
    responses: {200: CasePageOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(cases("list_cases", query(s.CaseListQuery())))


@bp.get("/cases/<case_id>")
@authenticated(allow_api_key=True)
def get_case(case_id: str):
    """One case with its timeline and the steps I may take now (`actions`).
    ---
    security: [bearer, apiKey]
    responses: {200: CaseOut, 401: Error, 404: Error}
    """
    return jsonify(cases("get_case", case_id))


@bp.post("/cases/<case_id>/transitions")
@authenticated(allow_api_key=True)
def transition(case_id: str):
    """Take one step of the loop (register, cancel, dispatch, accept, decline, reassign,
    whistle, escalate, acknowledge, handle, close, return, reopen, evaluate, merge, link) at
    the version I saw. A stale version is 409 `conflict` with `details.current`; a step the
    state does not allow is 409 `invalid_transition`; the same client id answers the first
    result.
    ---
    security: [bearer, apiKey]
    requestBody: TransitionIn
    responses: {200: CaseOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.TransitionIn())
    command = client_id(data)
    action, version = data.pop("action"), data.pop("version")
    return jsonify(cases("transition", case_id, action, version, data, command))


# --- photos --------------------------------------------------------------------------------
@bp.post("/case-photos")
@authenticated(allow_api_key=True)
def upload_photo():
    """Upload one photo (JPEG, PNG or WebP; at most `photo_max_bytes` of GET /cases/meta)
    before the report or step that uses it: multipart `file`, or the image as the body.
    Location and camera data are stripped; a thumbnail is made. Same client id, same answer.
    ---
    security: [bearer, apiKey]
    requestBody: upload
    responses: {201: PhotoOut, 400: Error, 401: Error, 413: Error}
    """
    limit = s.PHOTO_MAX_BYTES
    if (request.content_length or 0) > limit + UPLOAD_OVERHEAD:
        raise PhotoTooLarge(details={"max_bytes": limit})
    request.max_content_length = limit + UPLOAD_OVERHEAD  # per request (Flask 3.1)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(details={"file": "send the image in the form field 'file'"})
        content = upload.read(limit + 1)
    else:
        content = request.get_data(cache=False)
    if len(content) > limit:
        raise PhotoTooLarge(details={"max_bytes": limit})
    if not content:
        raise ValidationFailed(details={"file": "the file is empty"})
    command = client_id({})
    answer = cases("upload_photo", base64.b64encode(content).decode(), command)
    return jsonify(answer), 201


@bp.get("/case-photos/<photo_id>")
@authenticated(allow_api_key=True)
def get_photo(photo_id: str):
    """A photo (or `size=thumb`), for whoever may see its case.
    ---
    security: [bearer, apiKey]
    parameters: [size]
    responses: {200: download, 401: Error, 404: Error}
    """
    size = query(s.PhotoQuery())["size"]
    found = cases("photo", photo_id, size)
    response = Response(base64.b64decode(found["content_b64"]), mimetype=found["content_type"])
    # a photo never changes: the phone may keep it, nobody in between may
    response.headers["Cache-Control"] = "private, max-age=604800, immutable"
    response.headers["ETag"] = found["etag"]
    return response


# --- the catalogue ------------------------------------------------------------------------
@bp.get("/cases/meta")
@authenticated(allow_api_key=True)
def meta():
    """What to know before reporting: photo limits, reopening days, the categories.
    ---
    security: [bearer, apiKey]
    responses: {200: CaseMetaOut, 401: Error}
    """
    return jsonify(cases_public("meta"))


@bp.get("/case-categories")
@authenticated(allow_api_key=True)
def list_categories():
    """Categories (部件/事件, group, level, limits in working hours, extra fields).
    `retired=true` lists retired ones too.
    ---
    security: [bearer, apiKey]
    parameters: [retired]
    responses: {200: [CategoryOut], 401: Error}
    """
    retired = request.args.get("retired") in ("1", "true")
    return jsonify(cases_public("list_categories", retired))


@bp.post("/case-categories")
@requires_roles(*CATEGORY_EDITORS)
def create_category():
    """Add a category with a stable code (never reused: retire it instead).
    ---
    security: bearer
    requestBody: CategoryIn
    responses: {201: CategoryOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    return jsonify(cases("create_category", json_body(s.CategoryIn()))), 201


@bp.patch("/case-categories/<code>")
@requires_roles(*CATEGORY_EDITORS)
def update_category(code: str):
    """Edit or retire (`retired: true`) a category at the version I saw.
    ---
    security: bearer
    requestBody: CategoryChangeIn
    responses: {200: CategoryOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    return jsonify(cases("update_category", code, json_body(s.CategoryChangeIn())))


@bp.get("/case-calendar")
@authenticated()
def get_calendar():
    """The working calendar the clocks count on (Asia/Shanghai).
    ---
    security: bearer
    responses: {200: CalendarOut, 401: Error}
    """
    return jsonify(cases_public("get_calendar"))


@bp.put("/case-calendar")
@requires_roles(*CATEGORY_EDITORS)
def put_calendar():
    """Replace the calendar at the version I saw: working hours, holidays, worked weekends.
    ---
    security: bearer
    requestBody: CalendarIn
    responses: {200: CalendarOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    return jsonify(cases("put_calendar", json_body(s.CalendarIn())))


# --- results ------------------------------------------------------------------------------
@bp.get("/case-figures")
@requires_roles(*CASE_STAFF)
def figures():
    """Figures under a grid code in my scopes for months start..end: received, registered,
    closed, on-time rate, return rate, escalations, average satisfaction; by grid, category,
    source or month.
    ---
    security: bearer
    parameters: [grid_code, start, end, by]
    responses: {200: FiguresOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(cases("figures", query(s.FiguresQuery())))


@bp.get("/case-exports")
@requires_roles(*CASE_STAFF)
def export_cases():
    """Every case under a grid code in my scopes as CSV (UTF-8 with BOM; formula-like
    cells stay text).
    ---
    security: bearer
    parameters: [grid_code]
    responses: {200: download, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    out = cases("export_cases", query(s.CaseExportQuery()).get("grid_code"))
    response = Response(base64.b64decode(out["content_b64"]), mimetype=None)
    response.headers["Content-Type"] = out["content_type"]
    response.headers["Content-Disposition"] = f'attachment; filename="{out["filename"]}"'
    response.headers["X-Export-Rows"] = str(out["rows"])
    return response


@bp.get("/public/cases/board")
def board():
    """The public board (晒单), no login: closed cases under a grid or division code,
    anonymous (no names, phones or text; the point is the grid's centre), and figures per
    grid for this year.
    ---
    parameters: [grid_code, limit, before]
    responses: {200: BoardOut, 400: Error}
    """
    response = jsonify(cases_public("board", query(s.BoardQuery())))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
