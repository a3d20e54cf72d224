"""A case (案件): the closed loop's aggregate, as a state table and one pure `apply`.

Pure: standard library and the contracts' vocabulary only. It judges and builds; it never
reads or writes anything (the service's write path, `services/cases/writes.py`, stores what
it answers and records the events it names through the outbox).

The seven steps of GB/T 30428 — report, register, dispatch, handle, feed back, verify and
close, evaluate — are the rows of `TRANSITIONS`:

    TRANSITIONS[(state, action)] == (next_state, roles that may ask)

and `apply(case, action, caller, now, step=…, rules=…) -> (case, events)` is the only way a
case moves. A row's roles are the first gate; `_guard` then asks who this caller is to this
case (the assignee, the handler, the reporter, staff covering its grid). Clocks count in
working hours (`workclock.Calendar`) and start at dispatch; every step that has a limit
sets `clock` and the two instants the service's timers look for (`due_remind`,
`due_overdue`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from contracts.grid_vocabulary import VOCABULARY
from contracts.roles import (
    CASE_DISPATCHERS,
    CASE_HANDLERS,
    CASE_VERIFIERS,
    CASE_WHISTLERS,
)
from services.cases.workclock import Calendar

SERVICE = ("service",)  # the service's own clock and triage (Caller.trusted)
ANYONE = ("*",)  # any signed-in person; the guard decides (the reporter, a follower)

REPORTED, REGISTERED, CANCELLED = "reported", "registered", "cancelled"
DISPATCHED, ESCALATED, HANDLING = "dispatched", "escalated", "handling"
HANDLED, CLOSED, EVALUATED, MERGED = "handled", "closed", "evaluated", "merged"

OPEN = (REPORTED, REGISTERED, DISPATCHED, ESCALATED, HANDLING, HANDLED)
DONE = (CLOSED, EVALUATED)
ENDED = (CANCELLED, MERGED)

_D = CASE_DISPATCHERS
TRANSITIONS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    (REPORTED, "register"): (REGISTERED, _D + SERVICE),
    (REPORTED, "cancel"): (CANCELLED, _D),
    (REPORTED, "merge"): (MERGED, _D),
    (REGISTERED, "dispatch"): (DISPATCHED, _D + SERVICE),
    (REGISTERED, "cancel"): (CANCELLED, _D),
    (REGISTERED, "merge"): (MERGED, _D),
    (DISPATCHED, "accept"): (HANDLING, CASE_HANDLERS),
    (DISPATCHED, "decline"): (REGISTERED, CASE_HANDLERS),
    (DISPATCHED, "reassign"): (DISPATCHED, _D),
    (DISPATCHED, "whistle"): (ESCALATED, CASE_WHISTLERS),
    (DISPATCHED, "escalate"): (ESCALATED, _D + SERVICE),
    (ESCALATED, "acknowledge"): (HANDLING, CASE_HANDLERS),
    (ESCALATED, "reassign"): (DISPATCHED, _D),
    (ESCALATED, "escalate"): (ESCALATED, _D + SERVICE),
    (HANDLING, "handle"): (HANDLED, CASE_HANDLERS),
    (HANDLING, "reassign"): (DISPATCHED, _D),
    (HANDLING, "whistle"): (ESCALATED, CASE_WHISTLERS),
    (HANDLING, "escalate"): (ESCALATED, _D + SERVICE),
    (HANDLED, "close"): (CLOSED, CASE_VERIFIERS),
    (HANDLED, "return"): (HANDLING, CASE_VERIFIERS),
    (CLOSED, "evaluate"): (EVALUATED, ANYONE),
    (CLOSED, "reopen"): (HANDLING, ANYONE),
    (EVALUATED, "reopen"): (HANDLING, ANYONE),
    # links between reports, and the clock's flag: the state stays
    **{(s, "link"): (s, _D) for s in OPEN},
    **{(s, "overdue"): (s, SERVICE) for s in OPEN},
}

# the event each action records (link records none: it changes no step)
EVENT_OF = {
    "register": "case_registered",
    "cancel": "case_cancelled",
    "dispatch": "case_dispatched",
    "reassign": "case_dispatched",
    "decline": "case_declined",
    "accept": "case_accepted",
    "whistle": "case_escalated",
    "escalate": "case_escalated",
    "acknowledge": "case_acknowledged",
    "handle": "case_handled",
    "close": "case_closed",
    "return": "case_returned",
    "reopen": "case_reopened",
    "evaluate": "case_evaluated",
    "merge": "case_merged",
    "overdue": "case_overdue",
}
# which step's limit runs while a case is in a state (None: no clock)
STEP_OF_STATE = {
    REPORTED: "register",
    REGISTERED: "dispatch",
    DISPATCHED: "handle",
    HANDLING: "handle",
    ESCALATED: "acknowledge",
    HANDLED: "verify",
}
NEXT_LEVEL = {"grid": "community", "community": "town", "town": "department"}
# who answers for a unit of each level (besides the person it was given to)
UNIT_ROLES = {
    "grid": ("grid_worker", "grid_leader"),
    "community": ("community_admin",),
    "town": ("town_admin",),
    "department": ("department_staff", "county_admin"),
}
REMIND_SHARE = 0.8  # the reminder comes when 80% of a step's working time has passed
STATE_LABELS: dict[str, str] = VOCABULARY["case_states"]
ACTION_LABELS: dict[str, str] = VOCABULARY["case_actions"]


class Who(Protocol):
    """The caller as the rules see it (contracts.Caller fits)."""

    actor: str
    roles: tuple[str, ...]
    is_trusted: bool

    def covers(self, code: str | None) -> bool: ...


class NotAllowed(Exception):
    """No row of the table for (state, action)."""

    def __init__(self, state: str, action: str):
        super().__init__(f"{action} is not possible in state {state}")
        self.state = state
        self.action = action


class NotYours(Exception):
    """A row exists, but this caller may not take it for this case (why: a short code)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class WindowPassed(Exception):
    def __init__(self, days: int):
        super().__init__(f"past the {days}-day reopening window")
        self.days = days


@dataclass(frozen=True)
class Step:
    """What a person sends with an action."""

    note: str | None = None
    reason: str | None = None
    photos: tuple[str, ...] = ()
    rating: int | None = None
    to: Mapping[str, Any] | None = None  # resolved target: {level, user_id?, name?, code?}
    target: str | None = None  # the other case (merge, link)


@dataclass(frozen=True)
class Rules:
    """What the case's category and the calendar say."""

    calendar: Calendar = field(default_factory=Calendar.default)
    limits: Mapping[str, int] = field(default_factory=dict)  # step -> working seconds
    reopen_days: int = 7


Event = tuple[str, dict[str, Any]]


# --- who may -------------------------------------------------------------------------------
def allowed_roles(state: str, action: str) -> tuple[str, ...]:
    row = TRANSITIONS.get((state, action))
    if row is None:
        raise NotAllowed(state, action)
    return row[1]


def is_assignee(case: Mapping[str, Any], caller: Who) -> bool:
    """The person it was given to, or staff answering for the unit it was given to."""
    given = case.get("assignee") or {}
    if given.get("kind") == "person":
        return given.get("id") == caller.actor
    if given.get("kind") == "unit":
        roles = UNIT_ROLES.get(given.get("level", ""), ())
        return any(r in caller.roles for r in roles) and caller.covers(given.get("code"))
    return False


def follows(case: Mapping[str, Any], caller: Who) -> bool:
    return caller.actor == case.get("reporter_id") or caller.actor in case.get("followers", [])


def _staff(case: Mapping[str, Any], caller: Who) -> bool:
    return caller.covers(case.get("grid_code"))


def _guard(case: Mapping[str, Any], action: str, caller: Who, now: datetime, rules: Rules):
    roles = allowed_roles(case["state"], action)
    if caller.is_trusted:
        return
    if roles == SERVICE:
        raise NotYours("service_only")
    if roles != ANYONE and not any(r in caller.roles for r in roles):
        raise NotYours("role")
    if action in ("accept", "decline", "acknowledge"):
        if not is_assignee(case, caller):
            raise NotYours("not_assignee")
    elif action == "handle":
        if caller.actor != case.get("handler_id"):
            raise NotYours("not_handler")
    elif action == "whistle":
        mine = caller.actor in (case.get("handler_id"), (case.get("assignee") or {}).get("id"))
        leads = "grid_leader" in caller.roles and _staff(case, caller)
        if not (mine or leads):
            raise NotYours("not_handler")
    elif action in ("close", "return"):
        if not _staff(case, caller):
            raise NotYours("scope")
        if caller.actor == case.get("handler_id"):
            raise NotYours("own_case")  # verified by someone other than the handler
    elif action == "evaluate":
        if not follows(case, caller):
            raise NotYours("not_reporter")
    elif action == "reopen":
        dispatcher = any(r in caller.roles for r in _D) and _staff(case, caller)
        if not (follows(case, caller) or dispatcher):
            raise NotYours("not_reporter")
        closed = case.get("steps", {}).get("closed_at")
        if closed is None or now > closed + timedelta(days=rules.reopen_days):
            raise WindowPassed(rules.reopen_days)
    elif not _staff(case, caller):
        raise NotYours("scope")


def may(case: Mapping[str, Any], action: str, caller: Who, now: datetime, rules: Rules) -> bool:
    """Would `apply` let this caller take `action` now? (the actions a screen offers)"""
    try:
        _guard(case, action, caller, now, rules)
    except (NotAllowed, NotYours, WindowPassed):
        return False
    return True


def actions_for(case: Mapping[str, Any], caller: Who, now: datetime, rules: Rules) -> list[str]:
    state = case["state"]
    return [
        a
        for (s, a), (_, roles) in TRANSITIONS.items()
        if s == state and roles != SERVICE and may(case, a, caller, now, rules)
    ]


# --- reporting ---------------------------------------------------------------------------
def report(
    *,
    case_id: str,
    number: str,
    data: Mapping[str, Any],
    category: Mapping[str, Any],
    place: Mapping[str, Any],
    caller: Who,
    source: str,
    now: datetime,
    rules: Rules,
    duplicates: Sequence[Mapping[str, Any]] = (),
) -> tuple[dict[str, Any], list[Event]]:
    """A new case in `reported`, its register clock running, and its `case_reported` event."""
    reporter_role = next((r for r in caller.roles), None)
    case: dict[str, Any] = {
        "_id": case_id,
        "number": number,
        "title": data.get("title") or category["name"],
        "description": data["description"],
        "category": category["code"],
        "category_name": category["name"],
        "category_group": category["group"],
        "category_kind": category["kind"],
        "source": source,
        "reporter_id": caller.actor,
        "reporter_role": reporter_role,
        "followers": [caller.actor],
        "grid_code": place["grid_code"],
        "grid_name": place.get("grid_name"),
        "location": place.get("location"),
        "public_point": place.get("public_point"),
        "address": data.get("address"),
        "visit_id": data.get("visit_id"),
        "household_id": data.get("household_id"),
        "attributes": dict(data.get("attributes") or {}),
        "photos": list(data.get("photos") or []),
        "state": REPORTED,
        "version": 1,
        "level": category["level"],
        "unit": None,
        "assignee": None,
        "handler_id": None,
        "steps": {"reported_at": now},
        "late_steps": [],
        "supervised": False,
        "escalations": [],
        "returns": 0,
        "reopens": 0,
        "rating": None,
        "comment": None,
        "merged_into": None,
        "links": [],
        "possible_duplicates": [d["_id"] for d in duplicates],
        "created_at": now,
        "updated_at": now,
        "updated_by": caller.actor,
    }
    _start_clock(case, "register", now, rules)
    return case, [("case_reported", payload(case, "report", None, caller.actor, now))]


# --- moving ------------------------------------------------------------------------------
def apply(
    case: Mapping[str, Any],
    action: str,
    caller: Who,
    now: datetime,
    step: Step | None = None,
    rules: Rules | None = None,
) -> tuple[dict[str, Any], list[Event]]:
    """The case after `action` by `caller` at `now`, and the events that step records.

    Raises NotAllowed (no row), NotYours (a row, but not for this caller) or WindowPassed.
    """
    step = step or Step()
    rules = rules or Rules()
    _guard(case, action, caller, now, rules)
    before = case["state"]
    after_state = TRANSITIONS[(before, action)][0]
    new = copy.deepcopy(dict(case))
    new["state"] = after_state
    new["version"] = int(case["version"]) + 1
    new["updated_at"] = now
    new["updated_by"] = caller.actor
    steps = new.setdefault("steps", {})
    reason = step.reason

    if action == "register":
        steps["registered_at"] = now
        _start_clock(new, "dispatch", now, rules)
    elif action in ("cancel", "merge"):
        steps["ended_at"] = now
        new["end_reason"] = reason
        if action == "merge":
            new["merged_into"] = step.target
        _stop_clock(new, now)
    elif action in ("dispatch", "reassign"):
        _assign(new, _target(step), case)
        steps.setdefault("dispatched_at", now)
        keep = action == "reassign" and new.get("handle_deadline") is not None
        _start_clock(new, "handle", now, rules, keep_deadline=keep)
    elif action == "decline":
        new["assignee"] = None
        new["handler_id"] = None
        _start_clock(new, "dispatch", now, rules)
    elif action in ("accept", "acknowledge"):
        _take(new, caller)
        steps.setdefault("accepted_at", now)
        if action == "acknowledge":
            new["escalations"][-1]["acknowledged_at"] = now
            new["escalations"][-1]["acknowledged_by"] = caller.actor
            _start_clock(new, "handle", now, rules)
    elif action in ("whistle", "escalate"):
        _escalate(new, action, caller, now, reason)
        _start_clock(new, "acknowledge", now, rules)
    elif action == "handle":
        steps["handled_at"] = now
        new["result"] = {"note": step.note, "photos": list(step.photos), "at": now}
        _start_clock(new, "verify", now, rules)
    elif action == "close":
        steps["closed_at"] = now
        new["verifier_id"] = caller.actor
        _stop_clock(new, now)
        new["on_time"] = not new["late_steps"]
    elif action == "return":
        new["returns"] = int(new.get("returns", 0)) + 1
        _back_to_handler(new)
        _start_clock(new, "handle", now, rules)
    elif action == "reopen":
        new["reopens"] = int(new.get("reopens", 0)) + 1
        new["on_time"] = None
        steps.pop("closed_at", None)
        steps.pop("evaluated_at", None)
        new["rating"] = None
        _back_to_handler(new)
        _start_clock(new, "handle", now, rules)
    elif action == "evaluate":
        steps["evaluated_at"] = now
        new["rating"] = step.rating
        new["comment"] = step.note
    elif action == "link":
        if step.target and step.target not in new["links"]:
            new["links"].append(step.target)
    elif action == "overdue":
        clock = new.get("clock") or {}
        if clock.get("step") and clock["step"] not in new["late_steps"]:
            new["late_steps"].append(clock["step"])
        new["supervised"] = True
        new["alert"] = "overdue"
        new.pop("due_remind", None)
        new.pop("due_overdue", None)

    name = EVENT_OF.get(action)
    events: list[Event] = []
    if name:
        events.append((name, payload(new, action, before, caller.actor, now, reason=reason)))
    return new, events


def entry(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    action: str,
    caller: Who,
    now: datetime,
    step: Step | None = None,
) -> dict[str, Any]:
    """The timeline entry of one step (append-only; its seq is the case's new version)."""
    step = step or Step()
    return {
        "_id": f"{after['_id']}:{after['version']}",
        "case_id": after["_id"],
        "seq": after["version"],
        "at": now,
        "actor": caller.actor,
        "actor_roles": list(caller.roles),
        "action": action,
        "from_state": before.get("state") if before else None,
        "to_state": after["state"],
        "note": step.note,
        "reason": step.reason,
        "photos": list(step.photos),
        "rating": step.rating,
        "target": step.target,
        "assignee": after.get("assignee") if action in ("dispatch", "reassign") else None,
    }


def reminder(case: Mapping[str, Any], now: datetime) -> Event:
    """The `case_overdue_soon` notice for the step now running (the state does not move)."""
    return ("case_overdue_soon", payload(case, "remind", case["state"], "service:cases", now))


def payload(
    case: Mapping[str, Any],
    action: str,
    from_state: str | None,
    actor: str,
    at: datetime,
    reason: str | None = None,
) -> dict[str, Any]:
    """A case event's fields (the write path dumps them through contracts.cases.CaseEvent)."""
    clock = case.get("clock") or {}
    assignee = case.get("assignee") or {}
    handler = case.get("handler_id") or (
        assignee.get("id") if assignee.get("kind") == "person" else None
    )
    return {
        "case_id": case["_id"],
        "number": case["number"],
        "title": case["title"],
        "category": case["category"],
        "category_group": case["category_group"],
        "grid_code": case["grid_code"],
        "grid_name": case.get("grid_name"),
        "state": case["state"],
        "from_state": from_state,
        "action": action,
        "actor": actor,
        "at": at.isoformat(),
        "source": case["source"],
        "reporter_id": case.get("reporter_id"),
        "reporter_role": case.get("reporter_role"),
        "handler_id": handler,
        "unit": case.get("unit"),
        "level": case["level"],
        "deadline": clock["deadline"].isoformat() if clock.get("deadline") else None,
        "on_time": case.get("on_time") if action == "close" else None,
        "rating": case.get("rating") if action == "evaluate" else None,
        "reason": reason,
        "visit_id": case.get("visit_id"),
        "household_id": case.get("household_id"),
        "merged_into": case.get("merged_into"),
        "followers": list(case.get("followers") or []),
        "step": clock.get("step") if action in ("remind", "overdue") else None,
        "supervised": bool(case.get("supervised")),
        "number_of_photos": len(case.get("photos") or []),
    }


# --- the parts of a move -------------------------------------------------------------------
def unit_code(level: str, grid_code: str) -> str:
    """The unit of a level that a grid belongs to: its community, town or county."""
    if level == "community":
        return grid_code[:12]
    if level == "town":
        return grid_code[:9]
    if level == "department":
        return grid_code[:6]
    return grid_code


def _target(step: Step) -> Mapping[str, Any]:
    if not step.to or not step.to.get("level"):
        raise NotYours("no_target")
    return step.to


def _assign(new: dict[str, Any], to: Mapping[str, Any], _before: Mapping[str, Any]) -> None:
    level = to["level"]
    code = to.get("unit") or unit_code(level, new["grid_code"])
    new["level"] = level
    new["unit"] = code
    if to.get("user_id"):
        new["assignee"] = {
            "kind": "person",
            "id": to["user_id"],
            "name": to.get("name"),
            "level": level,
            "code": code,
        }
    else:
        new["assignee"] = {
            "kind": "unit",
            "id": None,
            "name": to.get("name"),
            "level": level,
            "code": code,
        }
    new["handler_id"] = None


def _take(new: dict[str, Any], caller: Who) -> None:
    given = new.get("assignee") or {}
    new["handler_id"] = caller.actor
    new["assignee"] = {**given, "kind": "person", "id": caller.actor}


def _back_to_handler(new: dict[str, Any]) -> None:
    handler = new.get("handler_id")
    given = new.get("assignee") or {}
    new["assignee"] = {**given, "kind": "person", "id": handler}


def _escalate(new: dict[str, Any], action: str, caller: Who, now: datetime, reason) -> None:
    level_was = new.get("level") or "grid"
    level = NEXT_LEVEL.get(level_was, level_was)
    code = unit_code(level, new["grid_code"])
    kind = "whistle" if action == "whistle" else ("overdue" if caller.is_trusted else "manual")
    new["escalations"].append(
        {
            "at": now,
            "by": caller.actor,
            "kind": kind,
            "from_level": level_was,
            "to_level": level,
            "reason": reason,
            "acknowledged_at": None,
        }
    )
    if caller.is_trusted:
        new["supervised"] = True  # escalated by the clock: flagged for supervision (督办)
    new["level"] = level
    new["unit"] = code
    new["assignee"] = {"kind": "unit", "id": None, "name": None, "level": level, "code": code}


def _start_clock(
    new: dict[str, Any], step: str, now: datetime, rules: Rules, keep_deadline: bool = False
) -> None:
    _note_late(new, now)
    seconds = int(rules.limits.get(step) or 0)
    if keep_deadline and new.get("handle_deadline"):
        deadline = new["handle_deadline"]
        started = (new.get("clock") or {}).get("started_at") or now
    elif seconds <= 0:
        _stop_clock(new, now)
        return
    else:
        deadline = rules.calendar.add(now, seconds)
        started = now
    remind = rules.calendar.add(started, int(seconds * REMIND_SHARE)) if seconds else deadline
    new["clock"] = {"step": step, "started_at": started, "deadline": deadline}
    if step == "handle":
        new["handle_deadline"] = deadline
    new.pop("alert", None)
    if new.get("supervised"):
        new["alert"] = "supervised"  # stays on the 督办 list until it is closed
    new["due_overdue"] = deadline
    if remind < deadline and remind > now:
        new["due_remind"] = remind
    else:
        new.pop("due_remind", None)


def _stop_clock(new: dict[str, Any], now: datetime) -> None:
    _note_late(new, now)
    new["clock"] = None
    new.pop("due_remind", None)
    new.pop("due_overdue", None)
    new.pop("alert", None)


def _note_late(new: dict[str, Any], now: datetime) -> None:
    """A step left after its limit is late (whether or not the timer saw it first)."""
    clock = new.get("clock") or {}
    deadline = clock.get("deadline")
    if deadline is not None and now > deadline and clock["step"] not in new["late_steps"]:
        new["late_steps"].append(clock["step"])
