"""The audit of personal data (DESIGN §3.5): every unmasked read, ID-number look-up, full
ID number revealed and unmasked export is written down with who asked, in which roles,
about which scope.

Every entry names the code it is about (`scope`: the grid of a read or reveal, the prefix
of an export, the scopes a look-up searched), and the audit is read by that code, in the
database and within the reader's own scopes (issue 7 §8: a county's look-ups are not
another county's business).
"""

from __future__ import annotations

import os.path
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from contracts.caller import Caller
from services.grid import domain


class Store(Protocol):
    def write_audit(self, entry: dict) -> None: ...
    def audit_entries(
        self, prefix: str, kind: str | None, actor: str | None, limit: int
    ) -> list[dict]: ...


def write(
    store: Store,
    now: datetime,
    kind: str,
    caller: Caller,
    record_id: str | None,
    scope: str,
    **detail: Any,
) -> None:
    store.write_audit(
        {
            "at": now,
            "kind": kind,
            "actor": caller.actor,
            "roles": list(caller.roles),
            "record_id": record_id,
            "scope": scope,
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
    write(store, now, f"{what}_unmasked", caller, record_id, grid_code, grid_code=grid_code)
    return True


def searched(caller: Caller) -> str:
    """The code a search across the caller's scopes is about: the part all of them share
    (their one scope, usually; '' for a trusted service, which searches everywhere)."""
    return os.path.commonprefix(caller.prefixes())


def entries(store: Store, caller: Caller, kind: str | None, actor: str | None, limit: int):
    """The entries about codes in the caller's scopes, newest first: one indexed query per
    scope, merged (never a filter after the database's limit)."""
    found: list[dict] = []
    for prefix in caller.prefixes():
        found += store.audit_entries(prefix, kind, actor, limit)
    found.sort(key=lambda e: (e["at"], e["_id"]), reverse=True)
    return found[:limit]


def scope_of(entry: Mapping[str, Any]) -> str:
    """The code an entry written before entries named their scope is about: its grid
    (reads) or prefix (exports); '' (nobody's but a trusted reader's) for a look-up."""
    detail = entry.get("detail") or {}
    return str(detail.get("grid_code") or detail.get("prefix") or "")


def view(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: domain.iso(v) for k, v in entry.items() if k != "_id"}, "id": entry["_id"]}
