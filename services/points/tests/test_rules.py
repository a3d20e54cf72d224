"""Earning rules: which rule pays, effective dates (never retroactive), caps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.points import rules
from services.points.rules import Rule

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
V = "330424001001"
GRID = V + "-001-01"


def rule(**kw) -> Rule:
    base = dict(
        rule_id="r1",
        version=1,
        code=V,
        name="走访",
        category="livelihood",
        trigger="visit_logged",
        points=5,
        valid_from=NOW - timedelta(days=30),
    )
    return Rule(**{**base, **kw})


def visit(at=NOW, kind="routine"):
    payload = {
        "visit_id": "v1",
        "household_id": "h1",
        "grid_code": GRID,
        "worker_user_id": "u1",
        "kind": kind,
        "occurred_at": at.isoformat(),
        "actor": "u1",
    }
    return rules.facts_of_event("visit_logged", "e1", payload)[0]


def case(event, **kw):
    payload = {
        "case_id": "c1",
        "number": "AJ1",
        "title": "t",
        "category": "x",
        "category_group": "disputes",
        "grid_code": GRID,
        "state": "s",
        "action": "a",
        "actor": "u",
        "at": NOW.isoformat(),
        "source": "worker",
        "level": "grid",
        "handler_id": "h9",
        "reporter_id": "u1",
        "reporter_role": "grid_worker",
        **kw,
    }
    return rules.facts_of_event(event, "e2", payload)


def test_a_visit_is_paid_by_the_rule_in_force_when_it_happened():
    old = rule(valid_until=NOW - timedelta(days=1))
    new = rule(version=2, points=8, valid_from=NOW - timedelta(days=1))
    assert rules.choose_rule([old, new], visit()) == (new, None)
    assert rules.choose_rule([old, new], visit(NOW - timedelta(days=2)))[0] == old


def test_no_rule_is_nothing_and_an_inactive_rule_is_a_refusal():
    assert rules.choose_rule([], visit()) == (None, None)
    later = rule(valid_from=NOW + timedelta(days=1))
    assert rules.choose_rule([later], visit()) == (None, "rule_inactive")
    other_village = rule(code="330424104201")
    assert rules.choose_rule([other_village], visit()) == (None, None)


def test_the_village_rule_beats_the_town_rule_and_filters_narrow():
    town = rule(rule_id="t", code=V[:9], points=3)
    village = rule(rule_id="v", points=4)
    care = rule(rule_id="c", points=9, visit_kind="care")
    assert rules.choose_rule([town, village], visit())[0] == village
    assert rules.choose_rule([town, village, care], visit(kind="care"))[0] == care
    assert rules.choose_rule([town, village, care], visit())[0] == village


def test_case_events_carry_their_facts():
    assert [f.trigger for f in case("case_registered")] == ["case_registered"]
    assert case("case_registered", reporter_role="resident") == []
    closed = case("case_closed", on_time=True)
    assert [f.trigger for f in closed] == ["case_closed", "case_closed_on_time"]
    assert closed[0].user == "h9" and closed[0].key == "event:e2:case_closed"
    assert case("case_closed", on_time=False)[-1].trigger == "case_closed"
    good = rule(trigger="case_evaluated_good", min_rating=4)
    assert rules.choose_rule([good], case("case_evaluated", rating=5)[0])[0] == good
    assert rules.choose_rule([good], case("case_evaluated", rating=3)[0]) == (None, None)
    disputes = rule(trigger="case_closed", category_group="disputes")
    assert rules.choose_rule([disputes], closed[0])[0] == disputes
    assert rules.choose_rule([disputes], case("case_closed", category_group="x")[0]) == (None, None)


def test_caps_cut_the_award_to_what_is_left():
    r = rule(points=5, daily_cap=12, period_cap=20)
    assert rules.capped(r, 0, 0) == 5
    assert rules.capped(r, 10, 10) == 2
    assert rules.capped(r, 0, 18) == 2
    assert rules.capped(r, 12, 12) == 0


def test_periods_and_days_are_beijing_time():
    late = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)  # 01:00 on 1 January in Beijing
    assert rules.day_key(late) == "2027-01-01"
    assert rules.period_key("month", late) == "2027-01"
    assert rules.period_key("quarter", late) == "2027Q1"
    assert rules.period_key("year", NOW) == "2026"


def test_rules_are_checked_and_never_retroactive():
    good = {
        "name": "走访",
        "category": "livelihood",
        "trigger": "visit_logged",
        "points": 5,
        "valid_from": NOW,
    }
    assert rules.check_rule(good, NOW) == {}
    assert "valid_from" in rules.check_rule({**good, "valid_from": NOW - timedelta(hours=1)}, NOW)
    for bad in (
        {"points": 0},
        {"points": 2.5},
        {"points": True},
        {"category": "x"},
        {"trigger": "x"},
        {"daily_cap": -1},
        {"hold_days": 3, "trigger": "case_closed"},
        {"valid_until": NOW - timedelta(days=1)},
    ):
        assert rules.check_rule({**good, **bad}, NOW), bad
    current = rule()
    ended, new = rules.next_version(current, {**good, "points": 7}, "op", NOW)
    assert ended.valid_until == NOW == new.valid_from and new.version == 2 and new.points == 7
