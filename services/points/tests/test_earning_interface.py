"""Earning from the grid's and the cases' events over the real broker: each event applied
once, refusals kept with why and retried after a top-up, pending points settled or
reversed, caps and effective dates honoured, and the audit clean afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.cases import CASE_CLOSED, CASE_EVALUATED, CASE_HANDLED, CASE_REOPENED
from contracts.errors import AlreadyAwarded, Forbidden, FundShort, NotFound, ValidationFailed
from contracts.grid import VISIT_LOGGED, VISIT_VOIDED
from services.points.audit import audit
from services.points.tests.conftest import OPERATOR, VILLAGE, case, visit

pytestmark = pytest.mark.interface
WALLET = f"wallet:{VILLAGE}:w1"
PENDING = f"pending:{VILLAGE}:w1"
FUND = f"fund:{VILLAGE}"


def test_a_visit_earns_once_however_often_it_arrives(points):
    points.setup_village(fund=100, daily_cap=12)
    events = points.publish("grid", VISIT_LOGGED, visit(1), visit(2), visit(3))
    points.handled(3)
    assert points.balance(WALLET) == 12  # 5 + 5 + 2: the daily cap cut the third
    assert points.balance(FUND) == 88
    # the same event again (a redelivery) is a no-op
    assert points.call("on_visit_logged", events[0]) == "repeat"
    assert points.balance(WALLET) == 12
    # the capped-out fourth visit is a refusal with why (not retryable)
    points.publish("grid", VISIT_LOGGED, visit(4))
    points.handled(4)
    refused = points.call("refusals", VILLAGE, caller=OPERATOR)
    assert [(r["reason"], r["retryable"]) for r in refused] == [("cap_reached", False)]
    me = points.call("my_points", caller=OPERATOR.__class__("w1", ("grid_worker",), (VILLAGE,)))
    assert me["available"] == 12 and len(me["history"]) == 3
    assert me["history"][0]["cause"]["trigger_zh"] == "入户走访"
    assert audit(points.db).ok


def test_a_short_fund_refuses_then_pays_after_a_top_up(points):
    points.setup_village(fund=7)
    points.publish("grid", VISIT_LOGGED, visit(1), visit(2))
    points.handled(2)
    assert points.balance(WALLET) == 5
    [refusal] = points.call("refusals", VILLAGE, caller=OPERATOR)
    assert refusal["reason"] == "fund_short" and refusal["retryable"]
    with pytest.raises(FundShort):
        points.call("retry_refusal", refusal["id"], caller=OPERATOR)
    with pytest.raises(Forbidden):
        points.call(
            "retry_refusal",
            refusal["id"],
            caller=OPERATOR.__class__("w1", ("grid_worker",), (VILLAGE,)),
        )
    points.call("top_up", VILLAGE, 50, "topup-0002", caller=OPERATOR)
    assert points.call("retry_refusal", refusal["id"], caller=OPERATOR)["outcome"] == "awarded"
    assert points.balance(WALLET) == 10
    with pytest.raises(AlreadyAwarded):
        points.call("retry_refusal", refusal["id"], caller=OPERATOR)
    assert points.call("refusals", VILLAGE, caller=OPERATOR) == []
    assert audit(points.db).ok


def test_rules_are_judged_when_the_work_happened(points):
    from datetime import datetime, timezone

    points.setup_village(valid_from=(datetime.now(timezone.utc) + timedelta(days=2)).isoformat())
    points.publish("grid", VISIT_LOGGED, visit(1))
    points.handled(1)
    assert points.balance(WALLET) == 0
    [refusal] = points.call("refusals", VILLAGE, caller=OPERATOR)
    assert refusal["reason"] == "rule_inactive"
    with pytest.raises(ValidationFailed):  # never retroactive
        points.rule(valid_from="2020-01-01T00:00:00+00:00")


def test_held_visit_points_settle_or_reverse(points):
    points.setup_village(hold_days=3)
    points.publish("grid", VISIT_LOGGED, visit(1), visit(2))
    points.handled(2)
    assert (points.balance(PENDING), points.balance(WALLET)) == (10, 0)
    points.publish(
        "grid",
        VISIT_VOIDED,
        {
            **{k: visit(2)[k] for k in ("visit_id", "household_id", "grid_code")},
            "worker_user_id": "w1",
            "reason": "登记错误",
            "actor": "leader",
            "at": visit(2)["occurred_at"],
        },
    )
    points.handled(3)
    assert (points.balance(PENDING), points.balance(FUND)) == (5, 995)
    assert points.call("sweep")["settled"] == 0  # not yet due
    points.clock.advance(timedelta(days=4))
    assert points.call("sweep")["settled"] == 1
    assert (points.balance(PENDING), points.balance(WALLET)) == (0, 5)
    assert audit(points.db).ok


def test_case_points_wait_for_closing_and_reverse_on_reopening(points):
    points.setup_village(trigger="case_handled", category="disputes", name="调解办理", points=10)
    points.rule(trigger="case_closed_on_time", category="disputes", name="按时办结", points=4)
    points.rule(trigger="case_evaluated_good", category="disputes", name="好评", points=3)
    points.publish("cases", CASE_HANDLED, case("c1"))
    points.handled(1)
    assert points.balance(PENDING) == 10
    points.publish("cases", CASE_CLOSED, case("c1", state="closed", action="close", on_time=True))
    points.handled(2)
    assert (points.balance(PENDING), points.balance(WALLET)) == (0, 14)
    points.publish(
        "cases", CASE_EVALUATED, case("c1", state="evaluated", action="evaluate", rating=5)
    )
    points.handled(3)
    assert points.balance(WALLET) == 17
    points.publish(
        "cases", CASE_REOPENED, case("c1", state="reopened", action="reopen", reason="没修好")
    )
    points.handled(4)
    assert points.balance(WALLET) == 0 and points.balance(FUND) == 1000
    kinds = sorted(t["kind"] for t in points.db["transfers"].find({"reverses": {"$ne": None}}))
    assert kinds == ["reversal"] * 4  # settle, award, on time, evaluated: each named
    assert audit(points.db).ok


def test_manual_awards_need_a_second_person_above_the_threshold(points):
    points.setup_village()
    leader = OPERATOR.__class__("leader-1", ("grid_leader",), (VILLAGE + "-001",))
    other = OPERATOR.__class__("leader-2", ("grid_leader",), (VILLAGE,))
    small = {
        "user_id": "w1",
        "grid_code": VILLAGE + "-001-01",
        "points": 20,
        "direction": "award",
        "reason": "防汛值守",
        "category": "org_life",
    }
    done = points.call("request_manual", small, "manual-0001", caller=leader)
    assert done["state"] == "applied" and points.balance(WALLET) == 20
    assert points.call("request_manual", small, "manual-0001", caller=leader) == done  # replay
    big = {**small, "points": 80}
    waiting = points.call("request_manual", big, "manual-0002", caller=leader)
    assert waiting["state"] == "awaiting_approval" and points.balance(WALLET) == 20
    # the leader's scope is one grid of the village: they list its requests all the same
    listed = points.call("manual_requests", VILLAGE, "awaiting_approval", 50, caller=leader)
    assert [r["id"] for r in listed] == [waiting["id"]]
    elsewhere = OPERATOR.__class__("leader-3", ("grid_leader",), ("330424999999-001",))
    with pytest.raises(NotFound):
        points.call("manual_requests", VILLAGE, "awaiting_approval", 50, caller=elsewhere)
    with pytest.raises(Forbidden):
        points.call("decide_manual", waiting["id"], True, caller=leader)
    assert points.call("decide_manual", waiting["id"], True, caller=other)["state"] == "applied"
    assert points.balance(WALLET) == 100
    deduct = {**small, "points": 500, "direction": "deduct"}
    waiting = points.call("request_manual", deduct, "manual-0003", caller=leader)
    from contracts.errors import InsufficientPoints

    with pytest.raises(InsufficientPoints):
        points.call("decide_manual", waiting["id"], True, caller=other)
    assert points.balance(WALLET) == 100
    for bad in ({"points": -5}, {"points": 2.5}, {"reason": ""}, {"direction": "x"}):
        with pytest.raises(ValidationFailed):
            points.call("request_manual", {**small, **bad}, "manual-0004", caller=leader)
    assert audit(points.db).ok
