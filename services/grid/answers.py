"""What the grid RPCs answer: records shaped for the gateway, times as ISO strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.grid import domain


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def grid_out(doc: dict, with_boundary: bool = False) -> dict:
    out = {
        "code": doc["_id"],
        "name": doc["name"],
        "level": doc["level"],
        "parent": doc["parent"],
        "village": doc["village"],
        "kind": doc.get("kind", "comprehensive"),
        "dedicated_kind": doc.get("dedicated_kind"),
        "version": doc.get("version", 1),
        "retired": bool(doc.get("retired")),
        "updated_at": _iso(doc.get("updated_at")),
    }
    if with_boundary:
        out["boundary"] = doc.get("boundary")
    return out


def post_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "user_id": doc["user_id"],
        "username": doc.get("username"),
        "display_name": doc.get("display_name"),
        "phone": doc.get("phone"),
        "post": doc["post"],
        "post_zh": domain.POST_NAMES_ZH.get(doc["post"], doc["post"]),
        "ab": doc.get("ab"),
        "absent": bool(doc.get("absent")),
    }


def place_out(doc: dict, unmasked: bool) -> dict:
    contact = dict(doc.get("contact") or {})
    if not unmasked:
        contact["phone"] = domain.mask_phone(contact.get("phone"))
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "kind": doc["kind"],
        "element": domain.PLACE_ELEMENTS.get(doc["kind"]),
        "name": doc["name"],
        "address": doc.get("address"),
        "location": doc.get("location"),
        "contact": contact,
        "note": doc.get("note"),
        "version": doc.get("version", 1),
    }


def visit_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "household_id": doc["household_id"],
        "grid_code": doc["grid_code"],
        "worker_id": doc["worker_id"],
        "kind": doc["kind"],
        "occurred_at": _iso(doc["occurred_at"]),
        "recorded_at": _iso(doc.get("recorded_at")),
        "findings": doc.get("findings", {}),
        "case_draft": doc.get("case_draft"),
        "note": doc.get("note"),
    }
