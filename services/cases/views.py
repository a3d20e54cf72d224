"""What callers see of a case: who may see it at all, the full view (with the actions this
caller may take now and its timeline), the line in a list, and the public board's entry.

The board entry is anonymous by construction: it is built from codes, labels, the grid and
times only — no reporter, no handler, no free text anyone typed, no contact — and its
point is the grid's centre, never where the report was made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from contracts.grid_vocabulary import VOCABULARY
from contracts.roles import CASE_INTAKE_CLIENTS, CASE_STAFF
from services.cases import case as rules_of
from services.cases.case import Rules, Who

STATE_LABELS: dict[str, str] = VOCABULARY["case_states"]
ACTION_LABELS: dict[str, str] = VOCABULARY["case_actions"]
SOURCE_LABELS: dict[str, str] = VOCABULARY["case_sources"]
LEVEL_LABELS: dict[str, str] = VOCABULARY["case_levels"]
GROUP_LABELS: dict[str, str] = VOCABULARY["case_groups"]
STEP_LABELS: dict[str, str] = VOCABULARY["case_steps"]


def may_see(case: Mapping[str, Any], caller: Who) -> bool:
    """The reporter and followers, whoever holds it, and staff whose scopes cover its grid."""
    if caller.is_trusted or rules_of.follows(case, caller):
        return True
    if caller.actor in (case.get("handler_id"), (case.get("assignee") or {}).get("id")):
        return True
    if rules_of.is_assignee(case, caller):
        return True
    staff = any(r in caller.roles for r in CASE_STAFF + CASE_INTAKE_CLIENTS)
    return staff and caller.covers(case.get("grid_code"))


def sees_contact(case: Mapping[str, Any], caller: Who) -> bool:
    """Staff of the grid and whoever holds the case call the reporter back; nobody else."""
    if caller.is_trusted:
        return True
    holds = caller.actor in (case.get("handler_id"), (case.get("assignee") or {}).get("id"))
    staff = any(r in caller.roles for r in CASE_STAFF) and caller.covers(case.get("grid_code"))
    return holds or staff


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _times(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: iso(v) for k, v in (doc or {}).items()}


def line(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A case in a list."""
    clock = doc.get("clock") or {}
    return {
        "id": doc["_id"],
        "number": doc["number"],
        "title": doc["title"],
        "category": doc["category"],
        "category_name": doc["category_name"],
        "category_group": doc["category_group"],
        "state": doc["state"],
        "state_zh": STATE_LABELS.get(doc["state"], doc["state"]),
        "version": doc["version"],
        "source": doc["source"],
        "source_zh": SOURCE_LABELS.get(doc["source"], doc["source"]),
        "grid_code": doc["grid_code"],
        "grid_name": doc.get("grid_name"),
        "level": doc["level"],
        "level_zh": LEVEL_LABELS.get(doc["level"], doc["level"]),
        "assignee": _assignee(doc.get("assignee")),
        "handler_id": doc.get("handler_id"),
        "step": clock.get("step"),
        "step_zh": STEP_LABELS.get(clock.get("step") or ""),
        "deadline": iso(clock.get("deadline")),
        "alert": doc.get("alert"),
        "supervised": bool(doc.get("supervised")),
        "photos": list(doc.get("photos") or []),
        "reported_at": iso(doc["steps"].get("reported_at")),
        "updated_at": iso(doc.get("updated_at")),
        "rating": doc.get("rating"),
    }


def _assignee(given: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not given:
        return None
    return {**given, "level_zh": LEVEL_LABELS.get(given.get("level", ""))}


def view(
    doc: Mapping[str, Any],
    caller: Who,
    now: datetime,
    rules: Rules,
    timeline: Sequence[Mapping[str, Any]] | None = None,
    contact: Mapping[str, Any] | None = None,
    duplicates: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The whole case as this caller may see it, and what they may do with it now."""
    out = line(doc)
    out.update(
        {
            "description": doc["description"],
            "category_kind": doc.get("category_kind"),
            "location": doc.get("location"),
            "address": doc.get("address"),
            "attributes": dict(doc.get("attributes") or {}),
            "reporter_id": doc.get("reporter_id"),
            "reporter_role": doc.get("reporter_role"),
            "followers": len(doc.get("followers") or []),
            "following": caller.actor in (doc.get("followers") or []),
            "unit": doc.get("unit"),
            "visit_id": doc.get("visit_id"),
            "household_id": doc.get("household_id"),
            "steps": _times(doc.get("steps")),
            "late_steps": list(doc.get("late_steps") or []),
            "on_time": doc.get("on_time"),
            "escalations": [_times(e) for e in doc.get("escalations") or []],
            "returns": doc.get("returns", 0),
            "reopens": doc.get("reopens", 0),
            "comment": doc.get("comment"),
            "result": _times(doc.get("result")),
            "merged_into": doc.get("merged_into"),
            "links": list(doc.get("links") or []),
            "possible_duplicates": [
                {
                    "id": d["_id"],
                    "number": d.get("number"),
                    "title": d.get("title"),
                    "state": d.get("state"),
                    "state_zh": STATE_LABELS.get(d.get("state", "")),
                }
                for d in duplicates
            ],
            "actions": rules_of.actions_for(doc, caller, now, rules),
        }
    )
    if contact is not None and sees_contact(doc, caller):
        out["contact"] = dict(contact)
    if timeline is not None:
        out["timeline"] = [timeline_view(e) for e in timeline]
    return out


def timeline_view(e: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "seq": e["seq"],
        "at": iso(e["at"]),
        "actor": e["actor"],
        "action": e["action"],
        "action_zh": ACTION_LABELS.get(e["action"], "上报" if e["action"] == "report" else None),
        "from_state": e.get("from_state"),
        "to_state": e["to_state"],
        "to_state_zh": STATE_LABELS.get(e["to_state"], e["to_state"]),
        "note": e.get("note"),
        "reason": e.get("reason"),
        "photos": list(e.get("photos") or []),
        "rating": e.get("rating"),
        "target": e.get("target"),
        "assignee": _assignee(e.get("assignee")),
    }


def board_entry(doc: Mapping[str, Any], working_seconds: int) -> dict[str, Any]:
    """The public 晒单 entry of a closed case: anonymous by construction (see above)."""
    steps = doc.get("steps") or {}
    return {
        "_id": doc["_id"],
        "number": doc["number"],
        "category": doc["category"],
        "category_name": doc["category_name"],
        "category_group": doc["category_group"],
        "group_zh": GROUP_LABELS.get(doc["category_group"], doc["category_group"]),
        "grid_code": doc["grid_code"],
        "grid_name": doc.get("grid_name"),
        "point": doc.get("public_point"),
        "source_zh": SOURCE_LABELS.get(doc["source"], doc["source"]),
        "reported_at": steps.get("reported_at"),
        "closed_at": steps.get("closed_at"),
        "working_hours": round(working_seconds / 3600, 1),
        "on_time": doc.get("on_time"),
        "rating": doc.get("rating"),
        "state": doc["state"],
    }


def board_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: iso(v) for k, v in entry.items() if k != "_id"}
    out["id"] = entry["_id"]
    out["state_zh"] = STATE_LABELS.get(entry["state"], entry["state"])
    return out
