"""The emergency reserve team (应急预备队) of a level-1 grid: B-post staff, party members,
cadres, volunteers… one member per grid, kind and name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from contracts.grid_http import ReserveMemberIn
from services.grid import domain
from services.grid.versions import Stamp
from services.kit.inputs import problems as schema_problems


class Store(Protocol):
    def reserve_of(self, code: str) -> list[dict]: ...
    def put_reserve(self, doc: dict, session: Any = None) -> str: ...
    def delete_reserve(self, member_id: str) -> bool: ...


def problems(grid: Mapping[str, Any], data: Any) -> dict[str, str]:
    """Field -> problem for a member of `grid`'s team: its schema, a level-1 grid, and a
    valid phone."""
    found = schema_problems(ReserveMemberIn(), data)
    if grid["level"] != 1:
        found["grid_code"] = "the reserve team belongs to a level-1 grid"
    phone = data.get("phone") if isinstance(data, Mapping) else None
    if phone and not domain.PHONE.match(str(phone)):
        found["phone"] = "a mobile (11 digits) or landline number"
    return found


def record(grid_code: str, data: Mapping[str, Any], at: Stamp) -> dict:
    name = str(data["name"]).strip()
    return {
        "_id": f"{grid_code}|{data['kind']}|{name}",
        "grid_code": grid_code,
        "name": name,
        "kind": data["kind"],
        "phone": data.get("phone"),
        "user_id": data.get("user_id"),
        "created_at": at.now,
        "created_by": at.actor,
    }


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    shown = ("grid_code", "name", "kind", "phone", "user_id")
    return {k: doc.get(k) for k in shown} | {"id": doc["_id"]}
