"""The pure rules: templates and their variables, times in Shanghai, quiet hours, which
channels tell a user now, back-off; and who is told what for each event (with a fake
directory)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.cases import CASE_CLOSED, CASE_DISPATCHED, CASE_ESCALATED, CASE_RETURNED
from contracts.notify_kinds import KINDS
from services.notify import domain, recipients

UTC = timezone.utc
DISPATCHED = KINDS["case_dispatched"]


def test_templates_name_only_known_plain_variables():
    assert domain.check_template(DISPATCHED, "{title}", "{number} {place} {deadline}") == {}
    unknown = domain.check_template(DISPATCHED, "{title}", "{place}{deadlin}{deadlin}")
    assert unknown["body"].startswith("未知的模板变量：{deadlin}；")  # named once
    for reaching in ("{title.__class__}", "{title[0]}", "{title!r}", "{title:>99999}", "{0}"):
        assert "title" in domain.check_template(DISPATCHED, reaching, "x"), reaching
    assert "body" in domain.check_template(DISPATCHED, "x", "未闭合 {place")
    assert domain.check_template(DISPATCHED, "{{字面}} {title}", "x") == {}


def test_render_fills_in_and_shows_a_dash_for_what_is_missing():
    assert domain.render("案件 {number} 限 {deadline}", {"number": "AJ1", "deadline": None}) == (
        "案件 AJ1 限 —"
    )
    assert domain.render("{a}{b}", {"a": 1}) == "1—"


def test_times_read_in_shanghai():
    assert domain.shown_time("2026-11-23T09:00:00+00:00") == "11月23日 17:00"
    assert domain.shown_time("2026-12-31T16:30:00Z") == "1月1日 00:30"
    assert domain.shown_time(None) is None and domain.shown_time("soon") is None
    assert domain.shown_day("2026-12-31T16:30:00+00:00") == "2027年1月1日"


def at_shanghai(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=domain.SHANGHAI)


def test_quiet_hours_may_span_midnight():
    night = {"start": "22:00", "end": "07:00"}
    assert domain.in_quiet_hours(night, at_shanghai(23))
    assert domain.in_quiet_hours(night, at_shanghai(6, 59))
    assert not domain.in_quiet_hours(night, at_shanghai(7))
    assert not domain.in_quiet_hours(night, at_shanghai(12))
    lunch = {"start": "12:00", "end": "13:30"}
    assert domain.in_quiet_hours(lunch, at_shanghai(13, 29))
    assert not domain.in_quiet_hours(lunch, at_shanghai(13, 30))
    assert not domain.in_quiet_hours(None, at_shanghai(3))


def test_critical_overrides_quiet_hours_and_bursts_are_held():
    quiet = {"quiet": {"start": "00:00", "end": "23:59"}}
    now = at_shanghai(12)
    overdue = KINDS["case_overdue"]
    assert domain.telling(DISPATCHED, False, quiet, now, False) == domain.Telling(
        False, False, False, False
    )
    assert domain.telling(overdue, True, quiet, now, False) == domain.Telling(
        True, True, True, False
    )
    assert domain.telling(DISPATCHED, False, None, now, True).held
    assert domain.telling(DISPATCHED, False, None, now, False) == domain.Telling(
        True, True, False, False
    )
    off = {"kinds": {"case_dispatched": []}}
    assert not domain.telling(DISPATCHED, False, off, now, False).alert
    # SMS is never chosen for a kind that is not critical, whatever is stored
    sneaky = {"kinds": {"case_dispatched": ["sms", "live"]}}
    assert domain.channels_of(sneaky, DISPATCHED) == {"live"}


@given(st.integers(min_value=1, max_value=60))
def test_back_off_doubles_and_is_capped(attempt):
    wait = domain.backoff(attempt)
    assert timedelta(seconds=2) <= wait <= timedelta(minutes=10)
    if attempt > 1:
        assert wait == min(domain.backoff(attempt - 1) * 2, timedelta(minutes=10))


class FakeDirectory:
    def place(self, grid_code, grid_name=None):
        return f"海兴社区 {grid_name or '某网格'}"

    def community(self, code):
        return "海兴社区"

    def leaders(self, grid_code):
        return ["leader-1"]

    def unit_staff(self, unit, role):
        return [f"{role}@{unit}"]


def event(kind: str, **payload) -> dict:
    base = {
        "case_id": "c1",
        "number": "AJ1",
        "title": "路灯坏了",
        "grid_code": "330424001001-001-01",
        "grid_name": "1幢",
        "actor": "u-9",
        "handler_id": "w1",
        "level": "grid",
        "deadline": "2026-11-23T09:00:00+00:00",
        "reporter_id": "r1",
        "followers": ["f1"],
    }
    return {"id": "e1", "type": kind, "payload": {**base, **payload}}


@pytest.mark.parametrize(
    ("kind", "payload", "told", "critical"),
    [
        (CASE_DISPATCHED, {}, ["w1"], False),
        (CASE_DISPATCHED, {"handler_id": None, "level": "town"}, ["town_admin@330424001"], False),
        (
            CASE_ESCALATED,
            {"level": "community", "unit": "330424001001"},
            ["community_admin@330424001001", "leader-1"],
            False,
        ),
        (
            CASE_ESCALATED,
            {"level": "community", "actor": "service:cases"},
            ["community_admin@330424001001", "leader-1"],
            True,
        ),
        (CASE_RETURNED, {}, ["w1"], False),
        (CASE_CLOSED, {}, ["r1", "f1"], False),
        (CASE_CLOSED, {"reporter_id": None, "followers": []}, [], False),
    ],
)
def test_who_is_told_of_a_case(kind, payload, told, critical):
    drafts = recipients.drafts_of(event(kind, **payload), FakeDirectory())
    assert [d.user_id for d in drafts] == told
    assert all(d.critical is critical for d in drafts)
    if drafts:
        assert drafts[0].values["deadline"] == "11月23日 17:00"
        assert drafts[0].values["place"] == "海兴社区 1幢" and drafts[0].place == "海兴社区"
        assert {d.message_id for d in drafts} == {f"e1:{u}" for u in told}


def test_points_that_moved_nothing_tell_nobody():
    refused = {"id": "e2", "type": "points_awarded", "payload": {"user_id": "w1", "amount": 0}}
    assert recipients.drafts_of(refused, FakeDirectory()) == []
    assert (
        recipients.drafts_of({"id": "e3", "type": "grid_changed", "payload": {}}, FakeDirectory())
        == []
    )
