"""Events become messages over the real broker and database: once however often they come,
in Chinese with the case number, place and deadline, to the right people; the inbox pages,
counts unread and marks read; open apps hear it live; bursts are digested; quiet hours are
quiet unless the message is critical; templates are the operator's, with unknown variables
refused."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from contracts.cases import CASE_CLOSED, CASE_DISPATCHED, CASE_OVERDUE
from contracts.errors import Forbidden, NotFound, ValidationFailed
from contracts.grid import STAFF_ASSIGNED, VISITS_OVERDUE
from contracts.notify import DIGEST_READY, MESSAGES_CREATED, MESSAGES_DELIVERED, MESSAGES_READ
from contracts.points import POINTS_AWARDED
from services.notify.tests import peers
from services.notify.tests.conftest import case, user, wait_for

pytestmark = pytest.mark.interface
OPERATOR = user("op", "operator")


def test_a_dispatch_reaches_its_worker_once_in_chinese_and_live(notify):
    events = notify.publish("cases", CASE_DISPATCHED, case("c01"))
    notify.handled(1)
    # the same event again (a redelivery) changes nothing
    assert notify.call("on_case_dispatched", events[0]) == "repeat"
    box = notify.inbox("w1")
    assert box["unread"] == 1 and len(box["items"]) == 1
    [message] = box["items"]
    assert message["title"] == "新案件：楼道堆放杂物"
    assert message[
        "body"
    ] == "案件 AJ2026112300c01，地点：海兴社区 1幢，请在 11月23日 17:00 前处理。".replace(
        "c01", "01"
    )
    assert (message["seq"], message["alert"], message["kind_zh"]) == (1, True, "新案件派单")
    assert message["link"] == "/cases/c01" and message["data"]["place"] == "海兴社区 1幢"
    [live] = notify.live.wait(MESSAGES_CREATED)
    assert [m["id"] for m in live["payload"]["messages"]] == [message["id"]]
    assert notify.inbox("w2")["items"] == []  # nobody else


def test_the_inbox_pages_counts_and_marks_read(notify):
    notify.publish("cases", CASE_DISPATCHED, *[case(f"c{i:02d}") for i in range(5)])
    notify.handled(5)
    first = notify.inbox("w1", limit=2)
    assert [m["seq"] for m in first["items"]] == [5, 4] and first["next_before"] == 4
    rest = notify.inbox("w1", before=first["next_before"], limit=10)
    assert [m["seq"] for m in rest["items"]] == [3, 2, 1] and rest["next_before"] is None
    assert notify.call("summary", caller=user("w1")) == {"unread": 5, "latest_seq": 5}
    since = notify.call("messages_since", 3, caller=user("w1"))
    assert [m["seq"] for m in since] == [4, 5]
    ids = [m["id"] for m in first["items"]]
    assert notify.call("mark_read", ids, caller=user("w1")) == {"read": 2, "unread": 3}
    assert notify.call("mark_read", ids, caller=user("w1")) == {"read": 0, "unread": 3}
    assert notify.call("mark_read", ids, caller=user("w2")) == {"read": 0, "unread": 0}
    read = notify.live.wait(MESSAGES_READ)
    assert sorted(read[0]["payload"]["ids"]) == sorted(ids) and read[0]["payload"]["unread"] == 3
    assert notify.call("mark_read", all=True, caller=user("w1")) == {"read": 3, "unread": 0}
    assert notify.inbox("w1", unread=True)["items"] == []
    with pytest.raises(ValidationFailed):
        notify.call("mark_read", caller=user("w1"))


def test_who_is_told_follows_the_event(notify):
    notify.publish(
        "cases",
        CASE_OVERDUE,
        case("c09", state="dispatched", action="timer", actor="service:cases"),
    )
    notify.publish(
        "cases", CASE_CLOSED, case("c10", state="closed", action="close", followers=["f-1"])
    )
    notify.publish(
        "cases", CASE_DISPATCHED, case("c11", handler=None, level="community", unit=peers.VILLAGE)
    )
    notify.publish(
        "points",
        POINTS_AWARDED,
        {
            "transfer_id": "t1",
            "user_id": "w1",
            "village": peers.VILLAGE,
            "amount": 5,
            "status": "available",
            "category": "livelihood",
            "cause": "event",
            "balance": 12,
            "actor": "service:points",
            "at": "2026-11-23T01:00:00+00:00",
        },
    )
    notify.publish(
        "grid",
        STAFF_ASSIGNED,
        {
            "grid_code": peers.L2,
            "user_id": "w2",
            "post": "part_time_worker",
            "ab": "B",
            "change": "assigned",
            "actor": "leader-1",
        },
    )
    notify.publish(
        "grid",
        VISITS_OVERDUE,
        {
            "grid_code": peers.L2,
            "grid_name": "1幢",
            "period": "2026Q4",
            "overdue": 3,
            "days_left": 9,
            "user_ids": ["w1", "w2"],
            "at": "2026-11-23T00:00:00+00:00",
            "actor": "service:grid",
        },
    )
    notify.handled(6)
    # each source's events run on their own queue: compare what, not in which order
    kinds = {
        u: sorted(m["kind"] for m in notify.inbox(u)["items"])
        for u in ("w1", "w2", "leader-1", "resident-1", "f-1", "admin-c")
    }
    assert kinds == {
        "w1": ["case_overdue", "points_awarded", "visits_overdue"],
        "w2": ["staff_assigned", "visits_overdue"],
        "leader-1": ["case_overdue"],  # the level-1 grid's leader hears of the overdue case
        "resident-1": ["case_closed"],
        "f-1": ["case_closed"],
        "admin-c": ["case_dispatched"],  # dispatched to the community: its admins
    }
    overdue = notify.inbox("leader-1")["items"][0]
    assert overdue["critical"] and "已列入督办" in overdue["body"]
    points = _of_kind(notify, "w1", "points_awarded")
    assert points["title"] == "积分 +5" and "可用余额 12 分" in points["body"]
    staff = _of_kind(notify, "w2", "staff_assigned")
    assert staff["body"] == "您已被安排到岗位：海兴社区 1幢 兼职网格员（B岗）。"


def _of_kind(notify, uid: str, kind: str) -> dict:
    return next(m for m in notify.inbox(uid)["items"] if m["kind"] == kind)


def test_a_burst_is_digested_and_quiet_hours_hold_all_but_critical(notify):
    notify.publish("cases", CASE_DISPATCHED, *[case(f"c{i:02d}") for i in range(6)])
    notify.handled(6)
    alerts = [m["alert"] for m in notify.inbox("w1")["items"]]
    assert sorted(alerts) == [False] * 5 + [True]  # the first buzzes, five wait
    assert notify.call("flush_digests") == 0  # the window is still open
    notify.clock.advance(timedelta(seconds=31))
    [digest] = wait_for(lambda: notify.live.wait(DIGEST_READY))
    assert digest["payload"]["digests"][0]["title"] == "5 件新案件（海兴社区）"
    assert notify.call("flush_digests") == 0  # told once

    # quiet hours around the clock: silent, except what is critical
    notify.call("set_preferences", {"quiet": {"start": "00:00", "end": "23:59"}}, caller=user("w2"))
    notify.publish("cases", CASE_DISPATCHED, case("c20", handler="w2"))
    notify.publish("cases", CASE_OVERDUE, case("c21", handler="w2", state="dispatched"))
    notify.handled(8)
    told = {m["kind"]: m["alert"] for m in notify.inbox("w2")["items"]}
    assert told == {"case_dispatched": False, "case_overdue": True}


def test_a_critical_message_nobody_saw_goes_by_sms_after_the_grace(notify, tmp_path):
    notify.publish("cases", CASE_OVERDUE, case("c30", handler="w1", state="dispatched"))
    notify.publish("cases", CASE_OVERDUE, case("c31", handler="w1", state="dispatched"))
    notify.handled(2)
    [second, first] = notify.inbox("w1")["items"]
    # the open app got the first one (the gateway's receipt): no SMS for it
    notify.publish(
        "gateway",
        MESSAGES_DELIVERED,
        {
            "receipts": [{"message_id": first["id"], "user_id": "w1", "at": first["created_at"]}],
            "process": "test",
        },
    )
    notify.handled(3)
    assert notify.call("send_due") == 0  # within the grace nothing goes
    notify.clock.advance(timedelta(seconds=31))
    wait_for(lambda: notify.call("send_due") >= 0 and _sms_states(notify) == {"sent", "skipped"})
    log = Path(tmp_path, "logs", "sms.log").read_text(encoding="utf-8").splitlines()
    assert len(log) == 1
    sms = json.loads(log[0])
    assert sms["to"] == "13900000001" and "AJ20261123003" in sms["text"]
    # the leader has no phone: the SMS cannot be sent, and says why
    leader = notify.inbox("leader-1")["items"][0]
    trail = notify.call("delivery_log", leader["id"], caller=user("leader-1"))
    sms_log = next(d for d in trail["deliveries"] if d["channel"] == "sms")
    assert sms_log["state"] == "dead" and sms_log["error"] == "no phone number"
    seen = notify.call("delivery_log", first["id"], caller=user("w1"))
    assert {d["channel"]: d["state"] for d in seen["deliveries"]} == {
        "inbox": "sent",
        "live": "delivered",
        "sms": "skipped",
    }
    with pytest.raises(NotFound):  # someone else's message
        notify.call("delivery_log", first["id"], caller=user("w2"))
    assert second["id"] != first["id"]


def _sms_states(notify) -> set:
    found = notify.db["deliveries"].find({"channel": "sms", "user_id": "w1"})
    return {d["state"] for d in found}


def test_operators_edit_templates_and_unknown_variables_are_refused(notify):
    with pytest.raises(Forbidden):
        notify.call("templates", caller=user("w1"))
    with pytest.raises(ValidationFailed) as refused:
        notify.call(
            "set_template",
            "case_dispatched",
            {"title": "{title}", "body": "请于{deadlin}前到{place}处理"},
            caller=OPERATOR,
        )
    assert "{deadlin}" in refused.value.details["body"]
    with pytest.raises(ValidationFailed) as reaching:  # no reaching into objects
        notify.call(
            "set_template",
            "case_dispatched",
            {"title": "{title.__class__}", "body": "x"},
            caller=OPERATOR,
        )
    assert "title" in reaching.value.details
    saved = notify.call(
        "set_template",
        "case_dispatched",
        {"title": "【派单】{number}", "body": "{place}：{title}，限 {deadline}"},
        caller=OPERATOR,
    )
    assert saved["edited"] and saved["updated_by"] == "op"
    notify.publish("cases", CASE_DISPATCHED, case("c40"))
    notify.handled(1)
    [message] = notify.inbox("w1")["items"]
    assert message["title"] == "【派单】AJ2026112300" + "40"
    assert message["body"] == "海兴社区 1幢：楼道堆放杂物，限 11月23日 17:00"
    listed = {t["kind"]: t for t in notify.call("templates", caller=OPERATOR)}
    assert "announcement" not in listed and listed["case_dispatched"]["edited"]


def test_preferences_turn_channels_off_and_keep_sms_for_critical_kinds(notify):
    prefs = notify.call("set_preferences", {"kinds": {"case_dispatched": []}}, caller=user("w1"))
    mine = {k["kind"]: k for k in prefs["kinds"]}
    assert mine["case_dispatched"]["channels"] == []
    assert mine["case_overdue"]["channels"] == ["live", "push", "sms"]
    with pytest.raises(ValidationFailed):  # SMS only where the kind is critical
        notify.call("set_preferences", {"kinds": {"case_closed": ["sms"]}}, caller=user("w1"))
    notify.publish("cases", CASE_DISPATCHED, case("c50"))
    notify.handled(1)
    [message] = notify.inbox("w1")["items"]
    assert message["alert"] is False and message["body"]  # kept in the inbox, no toast
