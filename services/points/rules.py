"""Earning rules (pure, standard library only): which work earns how many points, within
which caps, from when to when.

A rule belongs to a town (9-digit code) or a village (12-digit code) and names a duty
category from the sources (001 §三(三)三) and a trigger: the fact from the grid or cases
service that earns it. Rules are effective-dated and never retroactive: a change is a new
version that starts at or after the moment it is made, and an event is judged by the
version in force when the work happened.

    facts = facts_of_event("visit_logged", payload)       # [Fact(trigger, user, ...)]
    rule, why = choose_rule(rules, fact, at)              # (None, "rule_inactive") ...
    points = capped(rule, used_today, used_this_period)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, TypeGuard

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving in China

# The service categories of 001 §三(三)三, in the sources' order.
CATEGORIES: dict[str, str] = {
    "org_life": "组织生活参与",
    "livelihood": "民生事项服务",
    "opinions": "社情民意收集",
    "disputes": "矛盾纠纷劝调",
    "special_groups": "特殊人群帮教",
    "policy_law": "政策法律宣传",
}

# trigger -> (zh label, who earns, what the points wait for)
TRIGGERS: dict[str, tuple[str, str, str]] = {
    "visit_logged": ("入户走访", "the visiting worker", "hold_days (0: available at once)"),
    "case_registered": ("上报事件被立案", "the reporting worker", "available at once"),
    "case_handled": ("事件办理反馈", "the handler", "pending until the case is closed"),
    "case_closed": ("事件办结", "the handler", "available at once"),
    "case_closed_on_time": ("事件按时办结", "the handler", "available at once"),
    "case_evaluated_good": ("群众好评", "the handler", "available at once"),
}
# Roles whose reports earn points (a resident's report earns nobody anything).
STAFF_ROLES = frozenset({"grid_worker", "grid_leader", "instructor"})
PERIODS = ("month", "quarter", "year")
MAX_POINTS = 10_000  # per award: a typo of 100000 is refused, not paid out
RETRO_TOLERANCE = timedelta(minutes=1)  # a form filled in a minute ago is not retroactive


@dataclass(frozen=True)
class Rule:
    rule_id: str  # the lineage: every version of one rule shares it (and its caps)
    version: int
    code: str  # the town or village that set it
    name: str
    category: str
    trigger: str
    points: int
    valid_from: datetime
    valid_until: datetime | None = None
    daily_cap: int | None = None  # points per worker per day (Asia/Shanghai)
    period_cap: int | None = None  # points per worker per period
    period: str = "month"
    hold_days: int = 0  # visits: days the points stay pending (a voided visit loses them)
    category_group: str | None = None  # case triggers: only this group (e.g. disputes)
    visit_kind: str | None = None  # visits: only this kind (routine, care, wartime)
    min_rating: int = 4  # case_evaluated_good: the lowest rating that counts as good
    created_by: str = ""
    created_at: datetime | None = None

    def in_force(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def filters(self) -> int:
        return int(self.category_group is not None) + int(self.visit_kind is not None)


@dataclass(frozen=True)
class Fact:
    """One thing an event says a worker did, that a rule may pay for."""

    trigger: str
    event_id: str
    user: str | None  # who earns
    grid_code: str
    at: datetime  # when the work happened (rules are judged at this time)
    ref_kind: str  # visit | case
    ref: str  # the visit or case id
    attrs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def village(self) -> str:
        return village_of(self.grid_code)

    @property
    def key(self) -> str:
        """The award's idempotency key: one award per event and trigger."""
        return f"event:{self.event_id}:{self.trigger}"


def village_of(grid_code: str) -> str:
    """A grid code's first 12 digits name its village (or community)."""
    return grid_code[:12]


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        at = value
    else:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc)


# --- what events say ---------------------------------------------------------------------
def facts_of_event(event_type: str, event_id: str, payload: Mapping[str, Any]) -> list[Fact]:
    """The facts a grid or cases event carries (none for events that earn nothing)."""
    if event_type == "visit_logged":
        return [
            Fact(
                "visit_logged",
                event_id,
                payload.get("worker_user_id"),
                payload["grid_code"],
                parse_time(payload["occurred_at"]),
                "visit",
                payload["visit_id"],
                {"visit_kind": payload.get("kind")},
            )
        ]
    if not event_type.startswith("case_"):
        return []
    at = parse_time(payload["at"])
    attrs = {
        "category_group": payload.get("category_group"),
        "number": payload.get("number"),
        "rating": payload.get("rating"),
    }

    def fact(trigger: str, user: str | None) -> Fact:
        return Fact(
            trigger, event_id, user, payload["grid_code"], at, "case", payload["case_id"], attrs
        )

    handler = payload.get("handler_id")
    if event_type == "case_registered":
        reporter = payload.get("reporter_id")
        return (
            [fact("case_registered", reporter)]
            if payload.get("reporter_role") in STAFF_ROLES
            else []
        )
    if event_type == "case_handled":
        return [fact("case_handled", handler)]
    if event_type == "case_closed":
        found = [fact("case_closed", handler)]
        if payload.get("on_time") is True:
            found.append(fact("case_closed_on_time", handler))
        return found
    if event_type == "case_evaluated":
        rating = payload.get("rating")
        return [fact("case_evaluated_good", handler)] if isinstance(rating, int) else []
    return []


def matches(rule: Rule, fact: Fact) -> bool:
    if rule.trigger != fact.trigger or not fact.village.startswith(rule.code):
        return False
    if rule.category_group and fact.attrs.get("category_group") != rule.category_group:
        return False
    if rule.visit_kind and fact.attrs.get("visit_kind") != rule.visit_kind:
        return False
    if rule.trigger == "case_evaluated_good":
        rating = fact.attrs.get("rating")
        return isinstance(rating, int) and rating >= rule.min_rating
    return True


def choose_rule(rules: Iterable[Rule], fact: Fact) -> tuple[Rule | None, str | None]:
    """The rule that pays for `fact`, or why none does.

    (rule, None): pay by it. (None, None): no rule covers this work here (nothing to do).
    (None, "rule_inactive"): a rule covers it but was not in force when the work was done.
    The most specific rule wins: a village's over its town's, a filtered one over a general
    one, the newest version over older ones.
    """
    candidates = [r for r in rules if matches(r, fact)]
    if not candidates:
        return None, None
    live = [r for r in candidates if r.in_force(fact.at)]
    if not live:
        return None, "rule_inactive"
    live.sort(key=lambda r: (len(r.code), r.filters(), r.valid_from, r.version), reverse=True)
    return live[0], None


# --- caps --------------------------------------------------------------------------------
def day_key(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d")


def period_key(period: str, at: datetime) -> str:
    local = at.astimezone(SHANGHAI)
    if period == "year":
        return f"{local.year}"
    if period == "quarter":
        return f"{local.year}Q{(local.month - 1) // 3 + 1}"
    return local.strftime("%Y-%m")


def capped(rule: Rule, used_today: int, used_in_period: int) -> int:
    """Points to award under the caps: the rule's points, cut to what the caps leave."""
    points = rule.points
    if rule.daily_cap is not None:
        points = min(points, max(0, rule.daily_cap - used_today))
    if rule.period_cap is not None:
        points = min(points, max(0, rule.period_cap - used_in_period))
    return points


# --- setting rules -----------------------------------------------------------------------
EDITABLE = (
    "name",
    "category",
    "trigger",
    "points",
    "daily_cap",
    "period_cap",
    "period",
    "hold_days",
    "category_group",
    "visit_kind",
    "min_rating",
    "valid_from",
    "valid_until",
)


def check_rule(data: Mapping[str, Any], now: datetime, current: Rule | None = None) -> dict:
    """What is wrong with a rule (or a new version of `current`); {} when nothing."""
    problems: dict[str, str] = {}
    if data.get("category") not in CATEGORIES:
        problems["category"] = f"one of {', '.join(CATEGORIES)}"
    if data.get("trigger") not in TRIGGERS:
        problems["trigger"] = f"one of {', '.join(TRIGGERS)}"
    points = data.get("points")
    if not _whole(points) or not 0 < points <= MAX_POINTS:
        problems["points"] = f"a whole number from 1 to {MAX_POINTS}"
    for cap in ("daily_cap", "period_cap"):
        value = data.get(cap)
        if value is not None and (not _whole(value) or value < 1):
            problems[cap] = "a whole number of at least 1, or empty for no cap"
    if data.get("period", "month") not in PERIODS:
        problems["period"] = f"one of {', '.join(PERIODS)}"
    hold = data.get("hold_days", 0)
    if not _whole(hold) or not 0 <= hold <= 90:
        problems["hold_days"] = "a whole number of days from 0 to 90"
    elif hold and data.get("trigger") != "visit_logged":
        problems["hold_days"] = "only visits wait; case points wait for the case to close"
    rating = data.get("min_rating", 4)
    if not _whole(rating) or not 1 <= rating <= 5:
        problems["min_rating"] = "a rating from 1 to 5"
    if not str(data.get("name") or "").strip() or len(str(data.get("name"))) > 60:
        problems["name"] = "1 to 60 characters"
    start = data.get("valid_from")
    earliest = now - RETRO_TOLERANCE
    if current is not None:
        earliest = max(earliest, current.valid_from)
    if not isinstance(start, datetime) or start.tzinfo is None:
        problems["valid_from"] = "a time with its zone"
    elif start < earliest:
        problems["valid_from"] = "rules never apply retroactively: from now on, or later"
    end = data.get("valid_until")
    if end is not None:
        if not isinstance(end, datetime) or end.tzinfo is None:
            problems["valid_until"] = "a time with its zone, or empty"
        elif isinstance(start, datetime) and start.tzinfo and end <= start:
            problems["valid_until"] = "after valid_from"
    return problems


def new_rule(rule_id: str, code: str, data: Mapping[str, Any], actor: str, now: datetime) -> Rule:
    return Rule(
        rule_id=rule_id,
        version=1,
        code=code,
        created_by=actor,
        created_at=now,
        **_fields(data),
    )


def next_version(
    current: Rule, data: Mapping[str, Any], actor: str, now: datetime
) -> tuple[Rule, Rule]:
    """(the current version ended where the new one starts, the new version)."""
    new = replace(
        current,
        version=current.version + 1,
        created_by=actor,
        created_at=now,
        **_fields(data),
    )
    ended = replace(current, valid_until=new.valid_from)
    return ended, new


def _fields(data: Mapping[str, Any]) -> dict:
    out = {k: data[k] for k in EDITABLE if k in data}
    out["name"] = str(out.get("name", "")).strip()
    out.setdefault("period", "month")
    out.setdefault("hold_days", 0)
    out.setdefault("min_rating", 4)
    return out


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
