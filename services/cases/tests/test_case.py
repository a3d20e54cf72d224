"""The state table of a case: every row taken by the right caller, refused to the wrong
one, and a property test that no sequence of actions skips a step or leaves the table."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.caller import Caller
from contracts.cases import CaseEvent
from services.cases import case as c
from services.cases.case import TRANSITIONS, NotAllowed, NotYours, Rules, Step, WindowPassed
from services.cases.taxonomy import DEFAULTS, limit_seconds
from services.cases.workclock import Calendar

VILLAGE = "330424001001"
GRID = VILLAGE + "-001-01"
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
CATEGORY = {
    **next(d for d in DEFAULTS if d["code"] == "neighbour_dispute"),
    "_id": "neighbour_dispute",
}
RULES = Rules(Calendar.default(), limit_seconds(CATEGORY), reopen_days=7)

TRUSTED = Caller.trusted("cases")
RESIDENT = Caller("r1", ("resident",), (VILLAGE,))
LEADER = Caller("lead", ("grid_leader",), (VILLAGE,))
OTHER_LEADER = Caller("lead2", ("grid_leader",), (VILLAGE,))
WORKER = Caller("w1", ("grid_worker",), (GRID,))
WORKER2 = Caller("w2", ("grid_worker",), (GRID,))
COMMUNITY = Caller("c1", ("community_admin",), (VILLAGE,))
TOWN = Caller("t1", ("town_admin",), (VILLAGE[:9],))
STRANGER = Caller("x", ("grid_leader",), ("330424104201",))  # a leader of another village
CALLERS = [TRUSTED, RESIDENT, LEADER, OTHER_LEADER, WORKER, WORKER2, COMMUNITY, TOWN, STRANGER]


def reported() -> dict:
    doc, events = c.report(
        case_id="case-1",
        number="AJ202603020001",
        data={"description": "楼上漏水", "photos": ["p1"]},
        category=CATEGORY,
        place={"grid_code": GRID, "grid_name": "1幢", "location": {"lon": 120.94, "lat": 30.52}},
        caller=RESIDENT,
        source="resident",
        now=NOW,
        rules=RULES,
    )
    assert events[0][0] == "case_reported"
    return doc


def in_state(state: str) -> dict:
    """A case brought to `state` by the rows themselves (nothing set by hand)."""
    doc = reported()
    paths = {
        "reported": [],
        "registered": [("register", LEADER, Step())],
        "cancelled": [("cancel", LEADER, Step(reason="重复"))],
        "merged": [("merge", LEADER, Step(target="case-0"))],
        "dispatched": [
            ("register", LEADER, Step()),
            ("dispatch", LEADER, Step(to={"level": "grid", "user_id": "w1", "name": "李梅"})),
        ],
    }
    paths["handling"] = paths["dispatched"] + [("accept", WORKER, Step())]
    paths["escalated"] = paths["handling"] + [("whistle", WORKER, Step(reason="需要社区协调"))]
    paths["handled"] = paths["handling"] + [("handle", WORKER, Step(note="已调解"))]
    paths["closed"] = paths["handled"] + [("close", LEADER, Step())]
    paths["evaluated"] = paths["closed"] + [("evaluate", RESIDENT, Step(rating=5))]
    for action, who, step in paths[state]:
        doc, _ = c.apply(doc, action, who, NOW, step, RULES)
    assert doc["state"] == state
    return doc


# the caller and step each row is taken with
RIGHT = {
    "register": (LEADER, Step()),
    "cancel": (LEADER, Step(reason="不属实")),
    "merge": (LEADER, Step(target="case-0")),
    "link": (LEADER, Step(target="case-0")),
    "dispatch": (LEADER, Step(to={"level": "grid", "user_id": "w2", "name": "王强"})),
    "reassign": (LEADER, Step(to={"level": "community", "name": "海兴社区"})),
    "accept": (WORKER, Step()),
    "decline": (WORKER, Step(reason="不在我的网格")),
    "whistle": (WORKER, Step(reason="需要社区协调")),
    "escalate": (LEADER, Step(reason="久拖未决")),
    "acknowledge": (COMMUNITY, Step()),
    "handle": (WORKER, Step(note="已处理", photos=("p2",))),
    "close": (LEADER, Step()),
    "return": (LEADER, Step(reason="未解决")),
    "evaluate": (RESIDENT, Step(rating=4, note="满意")),
    "reopen": (RESIDENT, Step(reason="又漏了")),
    "overdue": (TRUSTED, Step()),
}


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS))
def test_every_row_moves_the_case_for_the_right_caller(state, action):
    doc = in_state(state)
    frozen = copy.deepcopy(doc)
    who, step = RIGHT[action]
    after, events = c.apply(doc, action, who, NOW + timedelta(minutes=5), step, RULES)
    assert doc == frozen  # apply never changes what it was given
    assert after["state"] == TRANSITIONS[(state, action)][0]
    assert after["version"] == doc["version"] + 1
    if action in c.EVENT_OF:
        assert [e[0] for e in events] == [c.EVENT_OF[action]]
        assert CaseEvent().validate(CaseEvent().dump(events[0][1])) == {}
        assert events[0][1]["from_state"] == state and events[0][1]["state"] == after["state"]
    else:
        assert events == []
    entry = c.entry(doc, after, action, who, NOW, step)
    assert (entry["from_state"], entry["to_state"], entry["seq"]) == (
        state,
        after["state"],
        after["version"],
    )


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS))
def test_every_row_is_refused_to_a_stranger(state, action):
    doc = in_state(state)
    _, step = RIGHT[action]
    with pytest.raises(NotYours):
        c.apply(doc, action, STRANGER, NOW, step, RULES)


def test_what_the_table_has_no_row_for_is_refused():
    for state in c.OPEN + c.DONE + c.ENDED:
        doc = in_state(state)
        missing = {a for a in RIGHT if (state, a) not in TRANSITIONS}
        for action in missing:
            with pytest.raises(NotAllowed):
                c.apply(doc, action, TRUSTED, NOW, RIGHT[action][1], RULES)


def test_the_handler_never_verifies_their_own_work():
    doc = in_state("handled")
    leader_handler = Caller("w1", ("grid_leader",), (VILLAGE,))
    with pytest.raises(NotYours) as refused:
        c.apply(doc, "close", leader_handler, NOW, Step(), RULES)
    assert refused.value.why == "own_case"


def test_only_the_assignee_accepts_and_a_unit_is_answered_by_its_staff():
    doc = in_state("dispatched")
    with pytest.raises(NotYours):
        c.apply(doc, "accept", WORKER2, NOW, Step(), RULES)
    escalated = in_state("escalated")
    assert escalated["assignee"] == {
        "kind": "unit",
        "id": None,
        "name": None,
        "level": "community",
        "code": VILLAGE,
    }
    with pytest.raises(NotYours):
        c.apply(escalated, "acknowledge", TOWN, NOW, Step(), RULES)
    after, _ = c.apply(escalated, "acknowledge", COMMUNITY, NOW, Step(), RULES)
    assert after["handler_id"] == "c1" and after["escalations"][-1]["acknowledged_by"] == "c1"


def test_escalation_climbs_one_level_at_a_time_and_the_clock_flags_supervision():
    doc = in_state("handling")
    levels = []
    for _ in range(4):
        doc, events = c.apply(doc, "escalate", TRUSTED, NOW, Step(reason="超时"), RULES)
        levels.append(doc["level"])
        assert events[0][1]["supervised"] is True
    assert levels == ["community", "town", "department", "department"]
    assert doc["unit"] == "330424"


def test_reopening_returns_to_the_handler_within_the_window_only():
    doc = in_state("evaluated")
    late = NOW + timedelta(days=8)
    with pytest.raises(WindowPassed):
        c.apply(doc, "reopen", RESIDENT, late, Step(reason="又坏了"), RULES)
    after, events = c.apply(
        doc, "reopen", RESIDENT, NOW + timedelta(days=6), Step(reason="又坏了"), RULES
    )
    assert after["state"] == "handling" and after["assignee"]["id"] == "w1"
    assert after["rating"] is None and events[0][0] == "case_reopened"


def test_the_clock_starts_at_dispatch_and_counts_working_hours():
    doc = in_state("dispatched")
    limit = RULES.limits["handle"]
    assert doc["clock"]["step"] == "handle"
    assert RULES.calendar.between(NOW, doc["clock"]["deadline"]) == limit
    assert NOW < doc["due_remind"] < doc["due_overdue"] == doc["clock"]["deadline"]
    closed = in_state("closed")
    assert closed["clock"] is None and "due_overdue" not in closed and closed["on_time"] is True


def test_a_step_left_after_its_limit_is_late_and_the_close_is_not_on_time():
    doc = in_state("handling")
    late = doc["clock"]["deadline"] + timedelta(minutes=1)
    handled, _ = c.apply(doc, "handle", WORKER, late, Step(note="终于好了"), RULES)
    closed, events = c.apply(handled, "close", LEADER, late, Step(), RULES)
    assert closed["late_steps"] == ["handle"] and events[0][1]["on_time"] is False


def test_actions_for_lists_exactly_what_apply_allows():
    for state in c.OPEN + c.DONE:
        doc = in_state(state)
        for who in CALLERS[1:]:
            offered = set(c.actions_for(doc, who, NOW, RULES))
            for action in RIGHT:
                if (state, action) not in TRANSITIONS or action == "overdue":
                    continue
                assert (action in offered) == c.may(doc, action, who, NOW, RULES)


# --- the property: no sequence skips a step or leaves the table --------------------------------
ACTIONS = sorted(RIGHT)
PREREQUISITE = {  # a state is reached only after the steps before it
    "registered": ("registered_at",),
    "dispatched": ("registered_at", "dispatched_at"),
    "escalated": ("registered_at", "dispatched_at"),
    "handling": ("registered_at", "dispatched_at", "accepted_at"),
    "handled": ("registered_at", "dispatched_at", "accepted_at", "handled_at"),
    "closed": ("registered_at", "dispatched_at", "accepted_at", "handled_at", "closed_at"),
    "evaluated": ("dispatched_at", "handled_at", "closed_at", "evaluated_at"),
}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(ACTIONS),
            st.sampled_from(range(len(CALLERS))),
            st.integers(min_value=0, max_value=60 * 24 * 10),
        ),
        max_size=40,
    )
)
def test_no_sequence_of_actions_skips_a_step_or_leaves_the_table(moves):
    doc = reported()
    now = NOW
    for action, who_index, minutes in moves:
        now += timedelta(minutes=minutes)
        who = CALLERS[who_index]
        _, step = RIGHT[action]
        frozen = copy.deepcopy(doc)
        try:
            after, events = c.apply(doc, action, who, now, step, RULES)
        except (NotAllowed, NotYours, WindowPassed):
            assert doc == frozen
            continue
        assert (doc["state"], action) in TRANSITIONS
        assert after["state"] == TRANSITIONS[(doc["state"], action)][0]
        assert after["version"] == doc["version"] + 1
        for mark in PREREQUISITE.get(after["state"], ()):
            assert mark in after["steps"], (after["state"], mark, after["steps"])
        if after["state"] in c.OPEN:
            assert after["clock"] and after["clock"]["step"] == c.STEP_OF_STATE[after["state"]]
        else:
            assert not after["clock"] and "due_overdue" not in after
        for _, payload in events:
            assert CaseEvent().validate(CaseEvent().dump(payload)) == {}
        doc = after
