"""The closed loop end to end, on the whole system with its demo data: a resident's report
with a photo is located by the grid service, dispatched by the cases service to the grid's
on-duty worker (worker01), handled, verified by the leader, rated, and shown on the public
board without a login; replays and races over HTTP; the demo cases are there."""

from __future__ import annotations

import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

UNIT_1 = {"lon": 120.94087, "lat": 30.5195}  # 海兴社区 一网格 1幢1单元: worker01 is its A post
HAIXING = "330424001001"


def jpeg_with_gps() -> bytes:
    tags = Image.Exif()
    tags[0x8825] = {1: "N", 2: (30.0, 31.0, 12.0), 3: "E", 4: (120.0, 56.0, 30.0)}
    out = io.BytesIO()
    Image.new("RGB", (2000, 1500), (90, 140, 60)).save(out, "JPEG", exif=tags)
    return out.getvalue()


def wait_case(system, token, case_id, state):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        case = system.call("GET", f"/api/v1/cases/{case_id}", token).json()
        if case["state"] == state:
            return case
        time.sleep(0.2)
    raise AssertionError(f"case stayed {case['state']}")


def step(system, token, case, action, **body):
    answer = system.call(
        "POST",
        f"/api/v1/cases/{case['id']}/transitions",
        token,
        json={"action": action, "version": case["version"], **body},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_residents_report_goes_round_the_loop_and_onto_the_board(system):
    resident = system.login("resident01")["access_token"]
    worker = system.login("worker01")["access_token"]
    leader = system.login("leader01")["access_token"]
    meta = system.call("GET", "/api/v1/cases/meta", resident).json()
    assert meta["photo_max_bytes"] == 4 * 1024 * 1024
    assert any(c["code"] == "ebike_charging" for c in meta["categories"])

    upload = system.call(
        "POST",
        "/api/v1/case-photos",
        resident,
        data=jpeg_with_gps(),
        headers={
            "Content-Type": "image/jpeg",
            "Idempotency-Key": f"e2e-photo-{uuid.uuid4().hex[:8]}",
        },
    )
    assert upload.status_code == 201, upload.text
    photo = upload.json()
    assert photo["width"] == 1600
    key = f"e2e-report-{uuid.uuid4().hex[:8]}"
    body = {
        "category": "ebike_charging",
        "description": "楼道里有人给电动车充电",
        "location": UNIT_1,
        "photos": [photo["id"]],
    }
    created = system.call(
        "POST", "/api/v1/cases", resident, json=body, headers={"Idempotency-Key": key}
    )
    assert created.status_code == 201, created.text
    again = system.call(
        "POST", "/api/v1/cases", resident, json=body, headers={"Idempotency-Key": key}
    )
    assert again.json().get("id") == created.json()["id"], again.text  # the same report
    case = wait_case(system, resident, created.json()["id"], "dispatched")
    assert case["grid_code"] == f"{HAIXING}-001-01-01" and case["assignee"]["name"]

    mine = system.call("GET", "/api/v1/cases", worker, params={"view": "assigned"}).json()["items"]
    assert case["id"] in [c["id"] for c in mine]
    case = step(system, worker, case, "accept")
    case = step(system, worker, case, "handle", note="已劝离并张贴告示")
    refused = system.call(
        "POST",
        f"/api/v1/cases/{case['id']}/transitions",
        worker,
        json={"action": "close", "version": case["version"]},
    )
    assert refused.status_code == 403  # the handler does not verify their own work
    case = step(system, leader, case, "close")
    case = step(system, resident, case, "evaluate", rating=4, note="及时")
    assert case["state"] == "evaluated"

    # the photo: stripped of EXIF for the case's viewers, 404 for anyone else
    got = system.call("GET", f"/api/v1/case-photos/{photo['id']}", leader)
    assert got.status_code == 200 and got.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(got.content)).getexif() == {}
    outsider_name, _ = system.new_user(("resident",), ("330424104201",))
    outsider = system.login(outsider_name, "pass-word-1")["access_token"]
    assert system.call("GET", f"/api/v1/case-photos/{photo['id']}", outsider).status_code == 404
    assert system.call("GET", f"/api/v1/cases/{case['id']}", outsider).status_code == 404

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        board = system.call("GET", "/api/v1/public/cases/board", params={"grid_code": HAIXING})
        numbers = [e["number"] for e in board.json()["items"]]
        if case["number"] in numbers:
            break
        time.sleep(1)
    assert case["number"] in numbers, numbers
    entry = next(e for e in board.json()["items"] if e["number"] == case["number"])
    assert entry["rating"] == 4 and entry["point"] != [UNIT_1["lon"], UNIT_1["lat"]]
    assert "电动车充电" not in board.text and "resident01" not in board.text
    community = system.login("community01")["access_token"]
    assert (
        system.call(  # the leader's scope is their level-1 grid, not the whole community
            "GET", "/api/v1/case-figures", leader, params={"grid_code": HAIXING}
        ).status_code
        == 404
    )
    deadline = time.monotonic() + 30  # figures are folded every few seconds
    row = None
    while row is None and time.monotonic() < deadline:
        figures = system.call(
            "GET",
            "/api/v1/case-figures",
            community,
            params={"grid_code": HAIXING, "by": "category"},
        )
        assert figures.status_code == 200, figures.text
        row = next((r for r in figures.json()["rows"] if r["key"] == "ebike_charging"), None)
        row = row if row and row["closed"] >= 1 else None
        time.sleep(0.5)
    assert row is not None, figures.text
    assert row["received"] >= 1 and row["closed"] >= 1


def test_two_accepts_over_http_one_wins_and_the_other_sees_the_case(system):
    resident = system.login("resident01")["access_token"]
    worker = system.login("worker01")["access_token"]
    body = {
        "category": "fire_hazard",
        "description": "消防栓被杂物遮挡",
        "location": {"lon": 120.94087, "lat": 30.5193},
    }
    created = system.call("POST", "/api/v1/cases", resident, json=body).json()
    case = wait_case(system, worker, created["id"], "dispatched")

    def accept(_):
        return system.call(
            "POST",
            f"/api/v1/cases/{case['id']}/transitions",
            worker,
            json={"action": "accept", "version": case["version"]},
        )

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(accept, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    lost = next(a for a in answers if a.status_code == 409).json()
    assert lost["error"] == "conflict" and lost["details"]["current"]["state"] == "handling"
    wrong = system.call(
        "POST",
        f"/api/v1/cases/{case['id']}/transitions",
        worker,
        json={"action": "evaluate", "version": lost["details"]["current"]["version"], "rating": 5},
    )
    assert wrong.status_code == 409 and wrong.json()["error"] == "invalid_transition"
    assert "处置中" in wrong.json()["message"]


def test_the_demo_cases_and_bad_input(system):
    resident = system.login("resident01")["access_token"]
    mine = system.call("GET", "/api/v1/cases", resident, params={"view": "reported"}).json()[
        "items"
    ]
    assert {"garbage_piled", "noise", "neighbour_dispute"} <= {c["category"] for c in mine}
    outside = system.call(
        "POST",
        "/api/v1/cases",
        resident,
        json={"category": "noise", "description": "x", "location": {"lon": 100.0, "lat": 20.0}},
    )
    assert outside.status_code == 400 and outside.json()["error"] == "outside_grids"
    unknown = system.call(
        "POST",
        "/api/v1/cases",
        resident,
        json={"category": "no_such_kind", "description": "x", "location": UNIT_1},
    )
    assert unknown.status_code == 400 and "category" in unknown.json()["details"]
    junk = system.call(
        "POST",
        "/api/v1/case-photos",
        resident,
        data=b"not a picture",
        headers={"Content-Type": "image/jpeg"},
    )
    assert junk.status_code == 400 and junk.json()["error"] == "not_an_image"
