"""Who is told what, for each event the service consumes: drafts of messages.

The rules read the event's payload and ask a `Directory` (the grid service's posts and place
names, identity's users by role and scope; see `directory.py`) for what the payload does not
name. They write nothing: `messages.deliver` stores the drafts.

| event | told |
|---|---|
| case dispatched | the person it was dispatched to (else the unit's staff) |
| case escalated | the receiving unit's staff and the grid's leader (critical if the clock did it) |
| case overdue soon | the handler (else the unit's staff) |
| case overdue | the handler and the grid's leader (critical: 督办) |
| case returned | the handler |
| case closed | the reporter and everyone following the case |
| case evaluated | the handler |
| points awarded / expiring / redeemed | the worker |
| staff assigned | the person whose post changed |
| visits overdue | the grid's staff the digest names |
"""

from __future__ import annotations

from typing import Any, Protocol

from contracts import cases, grid, points
from contracts.grid_vocabulary import POST_LABELS
from services.notify import domain
from services.notify.messages import Draft

UNIT_ROLES = {
    "community": "community_admin",
    "town": "town_admin",
    "department": "department_staff",
}
POINTS_STATUS = {"pending": "待核实，办结后到账", "available": "已到账"}
CHANGES = {
    "assigned": "您已被安排到岗位",
    "removed": "您已卸任岗位",
    "absent": "您已被标记为缺岗",
    "present": "您已恢复在岗",
}


class Directory(Protocol):
    def place(self, grid_code: str, grid_name: str | None = None) -> str: ...
    def community(self, code: str) -> str: ...
    def leaders(self, grid_code: str) -> list[str]: ...
    def unit_staff(self, unit: str, role: str) -> list[str]: ...


def _unique(users: list[Any]) -> list[str]:
    return [u for u in dict.fromkeys(users) if u]


CASE_KINDS = {
    cases.CASE_DISPATCHED: "case_dispatched",
    cases.CASE_ESCALATED: "case_escalated",
    cases.CASE_OVERDUE_SOON: "case_overdue_soon",
    cases.CASE_OVERDUE: "case_overdue",
    cases.CASE_RETURNED: "case_returned",
    cases.CASE_CLOSED: "case_closed",
    cases.CASE_EVALUATED: "case_evaluated",
}


def _unit_staff(payload: dict, directory: Directory) -> list[str]:
    level = payload.get("level") or "grid"
    code = payload["grid_code"]
    if level == "grid":
        return directory.leaders(code)
    unit = payload.get("unit") or {"community": code[:12], "town": code[:9]}.get(level, code[:6])
    if level == "department":  # a department serves the county the case lies in
        unit = code[:6]
    return directory.unit_staff(unit, UNIT_ROLES.get(level, "community_admin"))


def case_drafts(event: dict, directory: Directory) -> list[Draft]:
    kind = CASE_KINDS[event["type"]]
    p = event["payload"]
    handler = [p.get("handler_id")] if p.get("handler_id") else _unit_staff(p, directory)
    automatic = str(p.get("actor", "")).startswith("service:")
    critical = False
    if kind in ("case_dispatched", "case_overdue_soon", "case_returned", "case_evaluated"):
        users = handler if kind != "case_returned" else [p.get("handler_id")]
    elif kind == "case_escalated":
        users = _unit_staff(p, directory) + directory.leaders(p["grid_code"])
        critical = automatic  # escalated by the clock: overdue (督办)
    elif kind == "case_overdue":
        users = handler + directory.leaders(p["grid_code"])
        critical = True
    else:  # closed: the people who reported and follow it
        users = [p.get("reporter_id"), *(p.get("followers") or [])]
    users = _unique(users)
    if not users:
        return []
    place = directory.place(p["grid_code"], p.get("grid_name"))
    values = {
        "number": p["number"],
        "title": p["title"],
        "place": place,
        "category": p.get("category"),
        "deadline": domain.shown_time(p.get("deadline")),
        "reason": p.get("reason"),
        "rating": p.get("rating"),
    }
    data = {
        "case_id": p["case_id"],
        "number": p["number"],
        "grid_code": p["grid_code"],
        "place": place,
        "deadline": p.get("deadline"),
        "state": p.get("state"),
    }
    community = directory.community(p["grid_code"])
    return [
        Draft(
            user_id=u,
            kind=kind,
            values=values,
            source=event["id"],
            critical=critical or kind == "case_overdue",
            link=f"/cases/{p['case_id']}",
            data=data,
            place=community,
        )
        for u in users
    ]


def points_drafts(event: dict) -> list[Draft]:
    p = event["payload"]
    if event["type"] == points.POINTS_AWARDED:
        kind = "points_awarded"
        values = {
            "amount": p["amount"],
            "status": POINTS_STATUS.get(p.get("status", ""), p.get("status")),
            "balance": p.get("balance"),
            "reason": p.get("reason"),
        }
    elif event["type"] == points.POINTS_EXPIRING:
        kind = "points_expiring"
        values = {"amount": p["amount"], "expires_at": domain.shown_day(p.get("expires_at"))}
    else:
        kind = "points_redeemed"
        values = {
            "supermarket": p.get("supermarket_name"),
            "items": p.get("items"),
            "amount": p["amount"],
            "balance": p.get("balance"),
        }
    if not p.get("user_id") or int(p.get("amount") or 0) <= 0:
        return []
    data = {k: p.get(k) for k in ("amount", "balance", "village", "status") if k in p}
    return [Draft(p["user_id"], kind, values, event["id"], link="/points", data=data)]


def staff_drafts(event: dict, directory: Directory) -> list[Draft]:
    p = event["payload"]
    place = directory.place(p["grid_code"])
    values = {
        "place": place,
        "post": POST_LABELS.get(p["post"], p["post"]),
        "ab": f"（{p['ab']}岗）" if p.get("ab") else "",
        "change": CHANGES.get(p["change"], p["change"]),
    }
    data = {"grid_code": p["grid_code"], "post": p["post"], "change": p["change"]}
    return [Draft(p["user_id"], "staff_assigned", values, event["id"], link="/grids", data=data)]


def visits_drafts(event: dict, directory: Directory) -> list[Draft]:
    p = event["payload"]
    place = directory.place(p["grid_code"], p.get("grid_name"))
    values = {
        "place": place,
        "overdue": p["overdue"],
        "days_left": p["days_left"],
        "period": p["period"],
    }
    data = {"grid_code": p["grid_code"], "overdue": p["overdue"]}
    community = directory.community(p["grid_code"])
    return [
        Draft(
            u,
            "visits_overdue",
            values,
            event["id"],
            link=f"/grids/{p['grid_code']}",
            data=data,
            place=community,
        )
        for u in _unique(p.get("user_ids") or [])
    ]


def drafts_of(event: dict, directory: Directory) -> list[Draft]:
    """Every draft an event makes ([] for one that tells nobody)."""
    kind: Any = event["type"]
    if kind in CASE_KINDS:
        return case_drafts(event, directory)
    if kind in (points.POINTS_AWARDED, points.POINTS_EXPIRING, points.POINTS_REDEEMED):
        return points_drafts(event)
    if kind == grid.STAFF_ASSIGNED:
        return staff_drafts(event, directory)
    if kind == grid.VISITS_OVERDUE:
        return visits_drafts(event, directory)
    return []
