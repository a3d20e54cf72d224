"""What the grid RPCs answer: records shaped for the gateway, times as ISO strings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.grid_vocabulary import PLACE_ELEMENTS
from services.grid import domain


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def place_out(doc: dict, unmasked: bool) -> dict:
    contact = dict(doc.get("contact") or {})
    if not unmasked:
        contact["phone"] = domain.mask_phone(contact.get("phone"))
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "kind": doc["kind"],
        "element": PLACE_ELEMENTS.get(doc["kind"]),
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
