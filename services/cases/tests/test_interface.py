"""The cases service in real containers beside the real grid service, against the real
broker and database: the loop end to end, the races, the clocks with two instances, bad
input leaving nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import eventlet
import pytest

from contracts.errors import (
    Conflict,
    Forbidden,
    IdempotencyConflict,
    InvalidTransition,
    NotAnImage,
    NotFound,
    OutsideGrids,
    PhotoTooLarge,
    ValidationFailed,
)
from services.cases import photos
from services.cases.tests.conftest import (
    ADMIN,
    COMMUNITY_1,
    COMMUNITY_2,
    IN_L3,
    L1,
    L2,
    L3,
    LEADER,
    OUTSIDER,
    RESIDENT,
    VILLAGE,
    WORKER_A,
    WORKER_B,
    photo_b64,
    wait_for,
)

pytestmark = pytest.mark.interface


def test_a_report_is_located_triaged_handled_verified_rated_and_shown(world):
    cases = world.cases
    upload = cases.upload_photo(photo_b64(), "photo-0001", caller=RESIDENT)
    assert upload["width"] == photos.MAX_SIDE and upload["content_type"] == "image/jpeg"
    created = world.report(photos=[upload["id"]])
    assert created["grid_code"] == L3 and created["grid_name"] == "1幢1单元"
    assert created["state"] == "reported" and created["source"] == "resident"
    # 平台派单: registered and sent to building 1's A post by the service itself
    case = world.wait_state(created["id"], "dispatched")
    assert case["assignee"]["id"] == "u-a" and case["step"] == "handle"
    assert [e["action"] for e in case["timeline"]] == ["report", "register", "dispatch"]
    # the worker accepts and feeds back with a photo; someone else verifies; the reporter rates
    case = cases.transition(case["id"], "accept", case["version"], caller=WORKER_A)
    assert case["state"] == "handling" and case["handler_id"] == "u-a"
    done = cases.upload_photo(photo_b64(exif=False, fmt="PNG"), "photo-0002", caller=WORKER_A)
    case = cases.transition(
        case["id"],
        "handle",
        case["version"],
        {"note": "已调解", "photos": [done["id"]]},
        caller=WORKER_A,
    )
    with pytest.raises(Forbidden):  # the handler does not verify their own work
        cases.transition(case["id"], "close", case["version"], caller=WORKER_A)
    case = cases.transition(case["id"], "close", case["version"], caller=LEADER)
    assert case["state"] == "closed" and case["on_time"] is True
    assert "evaluate" in cases.get_case(case["id"], caller=RESIDENT)["actions"]
    case = cases.transition(
        case["id"], "evaluate", case["version"], {"rating": 5, "note": "满意"}, caller=RESIDENT
    )
    assert case["rating"] == 5
    timeline = cases.get_case(case["id"], caller=RESIDENT)["timeline"]
    assert [e["action"] for e in timeline] == [
        "report",
        "register",
        "dispatch",
        "accept",
        "handle",
        "close",
        "evaluate",
    ]
    assert timeline[4]["photos"] == [done["id"]]
    # events left through the outbox, each built from the contract
    for name in (
        "case_reported",
        "case_registered",
        "case_dispatched",
        "case_accepted",
        "case_handled",
        "case_closed",
        "case_evaluated",
    ):
        assert len(world.events(name)) == 1, name
    assert world.events("case_closed")[0]["payload"]["handler_id"] == "u-a"
    # figures and the public board follow from the events
    board = wait_for(
        lambda: (
            (b := cases.board({"grid_code": VILLAGE}))["items"]
            and b["items"][0]["rating"] == 5
            and b
        )
    )
    entry = board["items"][0]
    assert entry["number"] == case["number"] and entry["rating"] == 5
    assert entry["point"] == [120.9408, 30.5205]  # the grid's centre, not the reported point
    text = str(board)
    assert "u-res" not in text and "楼上噪音" not in text and "u-a" not in text
    figures = wait_for(
        lambda: (
            (f := cases.figures({"grid_code": VILLAGE, "by": "category"}, caller=ADMIN))["total"][
                "rated"
            ]
            and f
        )
    )
    total = figures["total"]
    assert (total["received"], total["registered"], total["closed"]) == (1, 1, 1)
    assert total["on_time_rate"] == 1.0 and total["satisfaction"] == 5.0
    assert figures["rows"][0]["key"] == "neighbour_dispute"
    # photos: the case's viewers fetch them, stripped of EXIF; nobody else
    got = cases.photo(upload["id"], "thumb", caller=LEADER)
    assert got["content_type"] == "image/jpeg"
    with pytest.raises(NotFound):
        cases.photo(upload["id"], caller=OUTSIDER)
    with pytest.raises(NotFound):
        cases.get_case(case["id"], caller=OUTSIDER)


def test_two_people_accepting_at_once_one_wins_the_other_gets_409(world):
    cases = world.cases
    created = world.report(category="property_dispute", client_id="report-unit-1")
    case = world.wait_state(created["id"], "dispatched")
    assert case["assignee"] == {**case["assignee"], "kind": "unit", "code": VILLAGE}
    results = world.concurrently(
        *(
            lambda rpc, who=who: rpc.transition(case["id"], "accept", case["version"], caller=who)
            for who in (COMMUNITY_1, COMMUNITY_2)
        )
    )
    won = [r for r in results if isinstance(r, dict)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].details["current"]["handler_id"] == won[0]["handler_id"]
    assert len(world.events("case_accepted")) == 1
    assert len(cases.get_case(case["id"], caller=ADMIN)["timeline"]) == 4


def test_bad_input_is_a_clear_4xx_and_changes_nothing(world):
    cases = world.cases
    with pytest.raises(ValidationFailed) as unknown:
        world.report(category="no_such_thing", client_id="bad-0001")
    assert "category" in unknown.value.details
    with pytest.raises(OutsideGrids):
        world.report(location={"lon": 121.5, "lat": 31.5}, client_id="bad-0002")
    with pytest.raises(ValidationFailed):
        world.report(description="", client_id="bad-0003")
    with pytest.raises(ValidationFailed):  # a required Open311-style attribute is missing
        world.report(category="road_damage", client_id="bad-0004")
    with pytest.raises(PhotoTooLarge):
        cases.upload_photo("A" * (photos.MAX_BYTES // 3 * 4 + 8), caller=RESIDENT)
    with pytest.raises(NotAnImage):
        cases.upload_photo("aGVsbG8gd29ybGQ=", caller=RESIDENT)
    with pytest.raises(ValidationFailed):  # someone else's upload cannot be attached
        other = cases.upload_photo(photo_b64(exif=False), caller=LEADER)
        world.report(photos=[other["id"]], client_id="bad-0005")
    assert world.db["cases"].count_documents({}) == 0
    assert world.db["outbox"].count_documents({}) == 0
    # replays: same id and body → the first answer; another body → 409
    first = world.report(client_id="replay-0001")
    again = world.report(client_id="replay-0001")
    assert again["id"] == first["id"] and world.db["cases"].count_documents({}) == 1
    with pytest.raises(IdempotencyConflict):
        world.report(client_id="replay-0001", description="别的内容")
    case = world.wait_state(first["id"], "dispatched")
    # a step the table does not have, a stale version, a role that may not: nothing moves
    with pytest.raises(InvalidTransition) as wrong:
        cases.transition(case["id"], "close", case["version"], caller=LEADER)
    assert wrong.value.details["current"]["state"] == "dispatched"
    with pytest.raises(Conflict):
        cases.transition(case["id"], "accept", case["version"] - 1, caller=WORKER_A)
    with pytest.raises(Forbidden):
        cases.transition(case["id"], "accept", case["version"], caller=WORKER_B)
    with pytest.raises(ValidationFailed):
        cases.transition(case["id"], "decline", case["version"], caller=WORKER_A)  # no reason
    assert cases.get_case(case["id"], caller=ADMIN)["version"] == case["version"]
    # accepted twice with one client id: once
    one = cases.transition(
        case["id"], "accept", case["version"], None, "acc-00001", caller=WORKER_A
    )
    two = cases.transition(
        case["id"], "accept", case["version"], None, "acc-00001", caller=WORKER_A
    )
    assert one["version"] == two["version"] and len(world.events("case_accepted")) == 1


def test_a_duplicate_is_offered_not_dispatched_and_a_merged_reporter_still_follows(world):
    cases = world.cases
    first = world.report(client_id="dup-00001")
    world.wait_state(first["id"], "dispatched")
    near = {"lon": IN_L3["lon"] + 0.0002, "lat": IN_L3["lat"]}  # about 19 m east
    second = world.report(who=WORKER_B, location=near, client_id="dup-00002")
    assert [d["id"] for d in second["possible_duplicates"]] == [first["id"]]
    assert 10 < second["possible_duplicates"][0]["distance_m"] < 30
    far = world.report(location={"lon": 120.9425, "lat": 30.5225}, client_id="dup-00003")
    assert far["possible_duplicates"] == []
    eventlet.sleep(1.0)
    assert cases.get_case(second["id"], caller=ADMIN)["state"] == "reported"  # waits for staff
    merged = cases.transition(second["id"], "merge", 1, {"target": first["id"]}, caller=LEADER)
    assert merged["state"] == "merged" and merged["merged_into"] == first["id"]
    mine = cases.list_cases({"view": "reported"}, caller=WORKER_B)["items"]
    assert {c["id"] for c in mine} == {first["id"], second["id"]}
    assert cases.get_case(first["id"], caller=WORKER_B)["following"] is True


def test_whistle_acknowledge_reassign_decline_return_and_reopen(world):
    cases = world.cases
    case = world.wait_state(world.report(client_id="loop-00001")["id"], "dispatched")
    case = cases.transition(
        case["id"], "decline", case["version"], {"reason": "休假"}, caller=WORKER_A
    )
    assert case["state"] == "registered" and case["assignee"] is None
    case = cases.transition(
        case["id"],
        "dispatch",
        case["version"],
        {"to": {"level": "grid", "user_id": "u-b", "name": "赵丽"}},
        caller=LEADER,
    )
    case = cases.transition(case["id"], "accept", case["version"], caller=WORKER_B)
    case = cases.transition(
        case["id"], "whistle", case["version"], {"reason": "需要社区协调"}, caller=WORKER_B
    )
    assert case["state"] == "escalated" and case["level"] == "community"
    assert case["step"] == "acknowledge"
    held = cases.list_cases({"view": "assigned"}, caller=COMMUNITY_1)["items"]
    assert [c["id"] for c in held] == [case["id"]]
    case = cases.transition(case["id"], "acknowledge", case["version"], caller=COMMUNITY_1)
    assert case["state"] == "handling" and case["handler_id"] == "u-c1"
    case = cases.transition(
        case["id"], "handle", case["version"], {"note": "已协调"}, caller=COMMUNITY_1
    )
    case = cases.transition(
        case["id"], "return", case["version"], {"reason": "未彻底解决"}, caller=LEADER
    )
    assert case["state"] == "handling" and case["assignee"]["id"] == "u-c1" and case["returns"] == 1
    case = cases.transition(
        case["id"], "handle", case["version"], {"note": "彻底解决"}, caller=COMMUNITY_1
    )
    case = cases.transition(case["id"], "close", case["version"], caller=LEADER)
    case = cases.transition(
        case["id"], "reopen", case["version"], {"reason": "又吵了"}, caller=RESIDENT
    )
    assert case["state"] == "handling" and case["assignee"]["id"] == "u-c1"
    assert len(world.events("case_reopened")) == 1 and len(world.events("case_escalated")) == 1


def test_with_two_instances_each_overdue_case_is_escalated_once_and_reminded_once(make_world):
    world = make_world(2)
    cases = world.cases
    places = (IN_L3, {"lon": 120.9425, "lat": 30.5225})  # far apart: no duplicates
    ids = [
        world.wait_state(world.report(client_id=f"clock-{i:04d}", location=at)["id"], "dispatched")[
            "id"
        ]
        for i, at in enumerate(places)
    ]
    docs = [world.db["cases"].find_one({"_id": i}) for i in ids]
    remind = max(d["due_remind"] for d in docs) + timedelta(minutes=1)
    assert remind < min(d["due_overdue"] for d in docs)
    for clock in world.clocks():
        clock.set(remind)  # past 80% of the handling limit, before the limit itself
    for _ in range(3):
        runs = world.concurrently(*[lambda rpc: rpc.run_clocks()] * 4)
        assert all(isinstance(r, dict) for r in runs), runs
    assert len(world.events("case_overdue_soon")) == 2
    for clock in world.clocks():
        clock.set(max(d["due_overdue"] for d in docs) + timedelta(minutes=1))  # past the limit
    for _ in range(3):
        runs = world.concurrently(*[lambda rpc: rpc.run_clocks()] * 4)
        assert all(isinstance(r, dict) for r in runs), runs
    assert len(world.events("case_overdue")) == 2
    assert len(world.events("case_escalated")) == 2
    for case_id in ids:
        case = cases.get_case(case_id, caller=ADMIN)
        assert case["state"] == "escalated" and case["supervised"] is True
        assert [e["action"] for e in case["timeline"]][-2:] == ["overdue", "escalate"]
    alerts = cases.list_cases({"view": "overdue", "grid_code": L1}, caller=LEADER)["items"]
    assert {c["id"] for c in alerts} == set(ids)
    # figures folded by both instances at once: every delta counts once
    for _ in range(3):
        world.concurrently(*[lambda rpc: rpc.fold_figures()] * 4)
    assert world.db["tally_deltas"].count_documents({}) == 0
    total = cases.figures({"grid_code": VILLAGE}, caller=ADMIN)["total"]
    assert (total["received"], total["registered"], total["escalated"]) == (2, 2, 2)


def test_a_report_from_a_visit_links_the_visit_and_household(world):
    household = world.grid.create_household(
        {
            "grid_code": L3,
            "address": {"building": "1", "unit": "1", "room": "101"},
            "members": [{"name": "张伟", "relation": "head"}],
            "housing": {"tenure": "owned"},
        },
        "hh-000001",
        caller=WORKER_A,
    )
    visit = world.grid.log_visit(
        {"household_id": household["id"], "kind": "routine"}, "visit-00001", caller=WORKER_A
    )
    case = world.cases.report(
        {"category": "corridor_clutter", "description": "3楼楼道堆放纸箱", "visit_id": visit["id"]},
        "from-visit-1",
        caller=WORKER_A,
    )
    assert (case["source"], case["visit_id"], case["household_id"]) == (
        "visit",
        visit["id"],
        household["id"],
    )
    assert case["grid_code"] == L3 and case["reporter_role"] == "grid_worker"
    with pytest.raises(NotFound):  # a visit outside the caller's scopes is not theirs to cite
        world.cases.report(
            {"category": "corridor_clutter", "description": "x", "visit_id": visit["id"]},
            "from-visit-2",
            caller=OUTSIDER,
        )
    assert L1 and L2  # the grid codes used above are the fixture's


def test_an_export_holds_only_the_callers_grids_and_keeps_formulas_as_text(world):
    import base64

    world.report(description='=HYPERLINK("http://x")', title="=1+1", client_id="export-0001")
    out = world.cases.export_cases(VILLAGE, caller=LEADER)
    text = base64.b64decode(out["content_b64"]).decode("utf-8")
    assert text.startswith("\ufeff编号") and out["rows"] == 1
    assert "'=1+1" in text
    with pytest.raises(NotFound):
        world.cases.export_cases(VILLAGE, caller=OUTSIDER)
    assert world.cases.export_cases(caller=OUTSIDER)["rows"] == 0
    with pytest.raises(Forbidden):
        world.cases.export_cases(VILLAGE, caller=RESIDENT)
