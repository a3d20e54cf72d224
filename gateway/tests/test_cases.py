"""The cases blueprint through the test client: roles, validation before any RPC, the
caller and client id passed, error mapping (a step the state table refuses is a 409 in
Chinese naming the state), photos in and out, the public board without login."""

from __future__ import annotations

import base64

import pytest

from contracts.cases_http import PHOTO_MAX_BYTES
from contracts.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidTransition,
    NotAnImage,
    NotFound,
    OutsideGrids,
    PhotoTooLarge,
    ReopenWindowPassed,
)
from gateway.tests.answers import assert_error

CASE = {"id": "c1", "number": "AJ202603020001", "state": "reported", "version": 1}
REPORT = {
    "category": "noise",
    "description": "楼下KTV太吵",
    "location": {"lon": 120.94, "lat": 30.52},
}


def test_a_resident_reports_with_a_client_id_and_the_caller_goes_along(client, rpc, bearer):
    rpc.answer("cases", "report", CASE)
    answer = client.post(
        "/api/v1/cases",
        json=REPORT,
        headers={**bearer("resident", sub="u-res"), "Idempotency-Key": "report-abc-123"},
    )
    assert answer.status_code == 201 and answer.json == CASE
    call = rpc.last("cases", "report")
    assert call.args == ({**REPORT, "photos": [], "attributes": {}}, "report-abc-123")
    assert call.kwargs["caller"].actor == "u-res" and call.kwargs["caller"].roles == ("resident",)


@pytest.mark.parametrize(
    "bad",
    [
        {**REPORT, "category": "Bad Code"},
        {**REPORT, "description": ""},
        {**REPORT, "description": "x" * 2001},
        {k: v for k, v in REPORT.items() if k != "location"},  # nowhere
        {**REPORT, "location": {"lon": 200, "lat": 30}},
        {**REPORT, "location": {"lon": "east", "lat": 30}},
        {**REPORT, "photos": ["p"] * 10},
        {**REPORT, "source": "martians"},
        {**REPORT, "extra": 1},
        {**REPORT, "contact": {"phone": "call me maybe"}},
    ],
)
def test_a_bad_report_is_400_before_any_call(client, rpc, bearer, bad):
    answer = client.post("/api/v1/cases", json=bad, headers=bearer("resident"))
    assert_error(answer, 400, "validation_failed")
    assert rpc.calls == []


def test_reports_need_a_login_or_an_api_key(client, rpc):
    assert_error(client.post("/api/v1/cases", json=REPORT), 401, "unauthorized")
    rpc.answer(
        "identity",
        "verify_api_key",
        {"id": "k1", "roles": ["hotline"], "scopes": ["330424"], "name": "12345"},
    )
    rpc.answer("cases", "report", CASE)
    answer = client.post("/api/v1/cases", json=REPORT, headers={"X-API-Key": "lx_abc"})
    assert answer.status_code == 201
    assert rpc.last("cases", "report").kwargs["caller"].roles == ("hotline",)


def test_one_route_takes_every_step_with_action_and_version(client, rpc, bearer):
    rpc.answer("cases", "transition", {**CASE, "state": "handling", "version": 4})
    body = {"action": "accept", "version": 3, "note": "马上去", "client_id": "step-0000001"}
    answer = client.post("/api/v1/cases/c1/transitions", json=body, headers=bearer("grid_worker"))
    assert answer.status_code == 200 and answer.json["state"] == "handling"
    call = rpc.last("cases", "transition")
    assert call.args == ("c1", "accept", 3, {"note": "马上去", "photos": []}, "step-0000001")
    calls = len(rpc.calls)
    for bad in (
        {"action": "accept"},  # no version
        {"action": "accept", "version": "3"},
        {"action": "fly", "version": 3},
        {"action": "overdue", "version": 3},  # the clock's own action is not asked for
        {"action": "decline", "version": 3},  # no reason
        {"action": "evaluate", "version": 3, "rating": 6},
        {"action": "evaluate", "version": 3},
        {"action": "merge", "version": 3},  # merge into what?
        {"action": "reassign", "version": 3},
    ):
        answer = client.post(
            "/api/v1/cases/c1/transitions", json=bad, headers=bearer("grid_worker")
        )
        assert_error(answer, 400, "validation_failed")
    assert len(rpc.calls) == calls


@pytest.mark.parametrize(
    ("error", "status", "code", "words"),
    [
        (
            InvalidTransition(
                details={
                    "state": "closed",
                    "action": "accept",
                    "state_zh": "已结案",
                    "action_zh": "接单",
                }
            ),
            409,
            "invalid_transition",
            "已结案",
        ),
        (Conflict(details={"current": CASE}), 409, "conflict", "刷新"),
        (IdempotencyConflict(), 409, "idempotency_conflict", "编号"),
        (Forbidden(details={"why": "own_case"}), 403, "forbidden", "权限"),
        (NotFound(), 404, "not_found", "找不到"),
        (ReopenWindowPassed(details={"days": 7}), 409, "reopen_window_passed", "7 天"),
    ],
)
def test_refusals_map_to_clear_answers_in_chinese(client, rpc, bearer, error, status, code, words):
    rpc.answer("cases", "transition", error)
    answer = client.post(
        "/api/v1/cases/c1/transitions",
        json={"action": "accept", "version": 1},
        headers=bearer("grid_worker"),
    )
    assert_error(answer, status, code)
    assert words in answer.json["message"]


def test_reporting_outside_every_grid_is_400_saying_so(client, rpc, bearer):
    rpc.answer("cases", "report", OutsideGrids(details={"location": [121.5, 31.5]}))
    answer = client.post("/api/v1/cases", json=REPORT, headers=bearer("resident"))
    assert_error(answer, 400, "outside_grids")
    assert "网格" in answer.json["message"]
    answer = client.post(
        "/api/v1/cases", json=REPORT, headers={**bearer("resident"), "Accept-Language": "en"}
    )
    assert "outside every grid" in answer.json["message"]


def test_lists_pass_their_query_and_refuse_unknown_parameters(client, rpc, bearer):
    rpc.answer("cases", "list_cases", {"items": [], "next": None})
    answer = client.get("/api/v1/cases?view=assigned&limit=10", headers=bearer("grid_worker"))
    assert answer.status_code == 200
    assert rpc.last("cases", "list_cases").args == ({"view": "assigned", "limit": 10},)
    assert_error(
        client.get("/api/v1/cases?view=everything", headers=bearer("grid_worker")),
        400,
        "validation_failed",
    )
    assert_error(
        client.get("/api/v1/cases?sort=x", headers=bearer("grid_worker")), 400, "validation_failed"
    )


def test_photos_go_up_within_the_limit_and_come_back_for_viewers(client, rpc, bearer):
    rpc.answer("cases", "upload_photo", {"id": "p1", "width": 10, "height": 10, "bytes": 3})
    image = b"\xff\xd8\xff\xe0" + b"0" * 100
    answer = client.post(
        "/api/v1/case-photos",
        data=image,
        headers={**bearer("resident"), "Content-Type": "image/jpeg"},
    )
    assert answer.status_code == 201 and answer.json["id"] == "p1"
    sent, command = rpc.last("cases", "upload_photo").args
    assert base64.b64decode(sent) == image and len(command) >= 8
    import io

    form = {"file": (io.BytesIO(image), "a.jpg")}
    answer = client.post(
        "/api/v1/case-photos",
        data=form,
        headers=bearer("resident"),
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201
    big = b"0" * (PHOTO_MAX_BYTES + 1)
    calls = len(rpc.calls)
    answer = client.post(
        "/api/v1/case-photos",
        data=big,
        headers={**bearer("resident"), "Content-Type": "image/jpeg"},
    )
    assert_error(answer, 413, "photo_too_large")
    assert str(PHOTO_MAX_BYTES) in answer.json["message"]
    assert_error(
        client.post("/api/v1/case-photos", data=b"", headers=bearer("resident")),
        400,
        "validation_failed",
    )
    assert len(rpc.calls) == calls
    rpc.answer("cases", "upload_photo", NotAnImage())
    answer = client.post(
        "/api/v1/case-photos",
        data=b"hello",
        headers={**bearer("resident"), "Content-Type": "image/jpeg"},
    )
    assert_error(answer, 400, "not_an_image")
    rpc.answer(
        "cases",
        "photo",
        {
            "content_b64": base64.b64encode(b"JPEGDATA").decode(),
            "content_type": "image/jpeg",
            "etag": "p1-thumb",
        },
    )
    got = client.get("/api/v1/case-photos/p1?size=thumb", headers=bearer("grid_leader"))
    assert got.status_code == 200 and got.data == b"JPEGDATA" and got.mimetype == "image/jpeg"
    assert "private" in got.headers["Cache-Control"]
    assert rpc.last("cases", "photo").args == ("p1", "thumb")
    assert_error(
        client.get("/api/v1/case-photos/p1?size=huge", headers=bearer("grid_leader")),
        400,
        "validation_failed",
    )
    rpc.answer("cases", "photo", PhotoTooLarge(details={"max_bytes": 1}))  # any named error maps
    assert client.get("/api/v1/case-photos/p1", headers=bearer("grid_leader")).status_code == 413


def test_categories_and_calendar_are_for_editors_to_change(client, rpc, bearer):
    rpc.answer("cases", "list_categories", [{"code": "noise"}])
    assert client.get("/api/v1/case-categories", headers=bearer("resident")).json == [
        {"code": "noise"}
    ]
    category = {
        "code": "stray_dogs",
        "name": "流浪犬",
        "group": "public_security",
        "kind": "event",
        "level": "community",
        "limits": {"register": 2, "dispatch": 2, "handle": 16, "verify": 8},
    }
    assert_error(
        client.post("/api/v1/case-categories", json=category, headers=bearer("community_admin")),
        403,
        "forbidden",
    )
    rpc.answer("cases", "create_category", category)
    assert (
        client.post(
            "/api/v1/case-categories", json=category, headers=bearer("operator")
        ).status_code
        == 201
    )
    for bad in (
        {**category, "limits": {"register": 0, "dispatch": 2, "handle": 1, "verify": 1}},
        {
            **category,
            "attributes": [{"code": "breed", "description": "品种", "datatype": "singlevaluelist"}],
        },
        {**category, "group": "aliens"},
    ):
        assert_error(
            client.post("/api/v1/case-categories", json=bad, headers=bearer("operator")),
            400,
            "validation_failed",
        )
    rpc.answer("cases", "put_calendar", {"version": 2})
    good = {"version": 1, "hours": [["09:00", "17:00"]], "holidays": ["2026-10-01"]}
    assert (
        client.put("/api/v1/case-calendar", json=good, headers=bearer("county_admin")).status_code
        == 200
    )
    bad = {"version": 1, "hours": [["9am", "5pm"]]}
    assert_error(
        client.put("/api/v1/case-calendar", json=bad, headers=bearer("county_admin")),
        400,
        "validation_failed",
    )


def test_figures_are_for_staff_and_the_board_for_everyone(client, rpc, bearer):
    assert_error(client.get("/api/v1/case-figures", headers=bearer("resident")), 403, "forbidden")
    rpc.answer("cases", "figures", {"rows": []})
    answer = client.get(
        "/api/v1/case-figures?by=source&start=2026-01&end=2026-03", headers=bearer("grid_leader")
    )
    assert answer.status_code == 200
    assert rpc.last("cases", "figures").args == (
        {"by": "source", "start": "2026-01", "end": "2026-03"},
    )
    assert_error(
        client.get("/api/v1/case-figures?start=2026-13", headers=bearer("grid_leader")),
        400,
        "validation_failed",
    )
    rpc.answer("cases", "board", {"items": [], "figures": []})
    board = client.get("/api/v1/public/cases/board?grid_code=330424001001")
    assert board.status_code == 200 and board.headers["Cache-Control"] == "public, max-age=300"
    call = rpc.last("cases", "board")
    assert (
        call.args == ({"grid_code": "330424001001", "limit": 20},) and "caller" not in call.kwargs
    )


def test_exports_are_for_staff_and_come_as_a_file(client, rpc, bearer):
    assert_error(client.get("/api/v1/case-exports", headers=bearer("resident")), 403, "forbidden")
    rpc.answer(
        "cases",
        "export_cases",
        {
            "filename": "cases-330424001001.csv",
            "content_type": "text/csv; charset=utf-8",
            "content_b64": base64.b64encode("\ufeff编号\n".encode()).decode(),
            "rows": 0,
        },
    )
    answer = client.get(
        "/api/v1/case-exports?grid_code=330424001001", headers=bearer("community_admin")
    )
    assert answer.status_code == 200 and answer.data.decode().startswith("\ufeff编号")
    assert "attachment" in answer.headers["Content-Disposition"]
    assert rpc.last("cases", "export_cases").args == ("330424001001",)
    assert_error(
        client.get("/api/v1/case-exports?grid_code=x", headers=bearer("community_admin")),
        400,
        "validation_failed",
    )
