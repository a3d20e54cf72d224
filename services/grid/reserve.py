"""The emergency reserve team (应急预备队) of a level-1 grid: B-post staff, party members,
cadres, volunteers… one member per grid, kind and name.

Its rules, its record (versioned like every record, the phone sealed), what callers see (the
phone masked unless the role needs it; the RPC audits every unmasked read), its event and its
one write path: `save` for added and changed members, `remove` for those taken off, each with
its `reserve_changed` event naming who did it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from contracts.grid import RESERVE_CHANGED, ReserveChanged
from contracts.grid_http import ReserveMemberIn
from services.grid import domain
from services.grid.vault import PHONE, Vault
from services.grid.versions import Change, Fields, Outbox, Stamp, stamped
from services.grid.versions import remove as remove_version
from services.grid.versions import save as save_versions
from services.kit.inputs import problems as schema_problems


class Store(Protocol):
    def reserve_of(self, code: str) -> list[dict]: ...
    def reserve_member(self, member_id: str, session: Any = None) -> dict | None: ...
    def insert_reserve(self, docs: list[dict], session: Any) -> None: ...
    def replace_reserve(self, docs: list[dict], session: Any) -> list[str]: ...
    def delete_reserve(self, member_id: str, session: Any = None) -> bool: ...


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


def member_id(grid_code: str, data: Mapping[str, Any]) -> str:
    """One member per grid, kind and name."""
    return f"{grid_code}|{data['kind']}|{str(data['name']).strip()}"


def fields(
    grid_code: str, data: Mapping[str, Any], previous: Mapping[str, Any] | None, vault: Vault
) -> dict[str, Any]:
    return {
        "grid_code": grid_code,
        "name": str(data["name"]).strip(),
        "kind": data["kind"],
        "phone": vault.kept(data.get("phone"), (previous or {}).get("phone"), PHONE),
        "user_id": data.get("user_id"),
    }


def record(new: Fields, at: Stamp, current: Fields | None = None) -> dict[str, Any]:
    """The stored member: new (`current` None) or the next version of `current`."""
    first = None if current else {"_id": member_id(new["grid_code"], new)}
    return stamped(current, new, at, first)


def view(doc: Mapping[str, Any], unmasked: bool, vault: Vault) -> dict[str, Any]:
    shown = {k: doc.get(k) for k in ("grid_code", "name", "kind", "user_id")}
    return shown | {"id": doc["_id"], "phone": vault.shown(doc.get("phone"), PHONE, unmasked)}


def event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return ReserveChanged().dump(
        {
            "grid_code": doc["grid_code"],
            "member_id": doc["_id"],
            "kind": doc["kind"],
            "change": change,
            "actor": doc["updated_by"],
        }
    )


def save(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    """Write members (added, updated) and their `reserve_changed` events."""
    save_versions(
        store.insert_reserve,
        store.replace_reserve,
        outbox,
        session,
        RESERVE_CHANGED,
        event,
        changes,
    )


def remove(store: Store, outbox: Outbox, session: Any, doc: Mapping[str, Any], actor: str):
    """Take a member off: the record goes, its event (removed) says who took them off."""
    remove_version(store.delete_reserve, outbox, session, RESERVE_CHANGED, event, doc, actor)


def resealed(doc: Mapping[str, Any], vault: Vault) -> dict[str, Any] | None:
    """The member with its phone under the current key; None when it already is."""
    if not vault.stale(doc.get("phone")):
        return None
    return {**doc, "phone": vault.carried(doc.get("phone"), PHONE)}
