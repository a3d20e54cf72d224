"""The audit of personal data (DESIGN §3.5): every unmasked read, ID-number look-up and
unmasked export is written down with who asked, in which roles, about which grid."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from contracts.caller import Caller
from services.grid import domain


class Store(Protocol):
    def write_audit(self, entry: dict) -> None: ...
    def audit_entries(self, kind: str | None, actor: str | None, limit: int) -> list[dict]: ...


def write(
    store: Store, now: datetime, kind: str, caller: Caller, record_id: str | None, **detail: Any
) -> None:
    store.write_audit(
        {
            "at": now,
            "kind": kind,
            "actor": caller.actor,
            "roles": list(caller.roles),
            "record_id": record_id,
            "detail": detail,
        }
    )


def unmasked(
    store: Store,
    now: datetime,
    caller: Caller,
    grid_code: str,
    what: str,
    record_id: str | None = None,
) -> bool:
    """May the caller see phones in the clear? When yes, the read is audited."""
    if not domain.may_unmask(caller.roles):
        return False
    write(store, now, f"{what}_unmasked", caller, record_id, grid_code=grid_code)
    return True


def about(entry: Mapping[str, Any]) -> str:
    """The grid (reads) or prefix (exports) an entry is about; '' for ID look-ups."""
    detail = entry.get("detail") or {}
    return str(detail.get("grid_code") or detail.get("prefix") or "")


def view(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: domain.iso(v) for k, v in entry.items() if k != "_id"}, "id": entry["_id"]}
