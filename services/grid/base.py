"""What every part of the grid service shares: its dependencies and internal checks."""

from __future__ import annotations

import os
from datetime import datetime

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from contracts.errors import Forbidden, LianxinError, NotFound
from contracts.grid import STAFF_ASSIGNED
from contracts.scope import in_scope
from services.grid import domain, importing
from services.grid.locating import GridIndex, GridIndexProvider
from services.grid.storage import GridStorage, GridStore
from services.kit.clock import Clock, ClockProvider
from services.kit.outbox import Outbox, OutboxWriter

# Development default; set GRID_ID_KEY (32+ random bytes, hex or text) in any real deployment.
DEV_ID_KEY = "lianxin-dev-id-key-not-for-production"


def id_key(config: dict | None = None) -> bytes:
    value = (config or {}).get("GRID_ID_KEY") or os.environ.get("GRID_ID_KEY") or DEV_ID_KEY
    return value.encode()


# Every grid RPC: a named error is the caller's doing (a bad field, a stale version, a record
# outside their scopes), answered as such and not logged with a stack trace.
grid_rpc = rpc(expected_exceptions=LianxinError)


class GridBase:
    """Dependencies and shared internals; the RPCs live in the rpc_* mixins."""

    store: GridStore = GridStorage()
    outbox: OutboxWriter = Outbox("grid")
    clock: Clock = ClockProvider()
    grid_index: GridIndex = GridIndexProvider()
    config = Config()

    @grid_rpc
    def health(self) -> dict:
        """{service, ok}; raises when the database does not answer."""
        self.store.ping()
        return {"service": self.name, "ok": True}

    def _key(self) -> bytes:
        return id_key(getattr(self, "config", None))

    def _grid_or_404(self, code: str, session=None) -> dict:
        doc = self.store.grid(code, session=session) if code else None
        if doc is None:
            raise NotFound(details={"grid_code": code})
        return doc

    def _require_scope(self, code: str, scopes: list) -> None:
        if not code or not in_scope(code, scopes or []):
            raise NotFound(details={"grid_code": code})

    def _require_writable(self, code: str, scopes: list) -> None:
        """Creating at a code outside the scopes is refused (Forbidden), as the gateway does;
        a missing code is left to validation."""
        if code and not in_scope(code, scopes or []):
            raise Forbidden(details={"code": code, "scopes": list(scopes or [])})

    def _staff_event(self, session, post: dict, change: str) -> None:
        self.outbox.record(
            session,
            STAFF_ASSIGNED,
            {
                "grid_code": post["grid_code"],
                "user_id": post["user_id"],
                "post": post["post"],
                "ab": post.get("ab"),
                "change": change,
            },
        )

    def _unmask(self, actor, roles, grid_code, what, record_id=None) -> bool:
        if not domain.may_unmask(roles or []):
            return False
        self._audit(f"{what}_unmasked", actor, roles, record_id, grid_code=grid_code)
        return True

    def _audit(self, kind: str, actor, roles, record_id, **detail) -> None:
        self.store.write_audit(
            {
                "at": self.clock.now(),
                "kind": kind,
                "actor": actor,
                "roles": list(roles or []),
                "record_id": record_id,
                "detail": detail,
            }
        )

    def _coverage(self, grid: dict, rows: list, now: datetime) -> dict:
        period = domain.duty_period(grid["level"], now)
        duties = (
            domain.HouseholdDuty(
                id=r["_id"],
                grid_code=r["grid_code"],
                created_at=r["created_at"],
                last_visit_at=r.get("last_visit_at"),
                last_care_at=r.get("last_care_at"),
                tags=tuple(r.get("tags", [])),
            )
            for r in rows
        )
        out = domain.coverage(duties, period, now).as_dict()
        return {"code": grid["_id"], "name": grid["name"], "level": grid["level"], **out}

    def _post_doc(self, data: dict) -> dict:
        return {
            "_id": f"{data['grid_code']}|{data['user_id']}|{data['post']}",
            "grid_code": data["grid_code"],
            "user_id": str(data["user_id"]),
            "username": data.get("username"),
            "display_name": data.get("display_name"),
            "phone": data.get("phone"),
            "post": data["post"],
            "ab": data.get("ab") or None,
            "absent": bool(data.get("absent", False)),
            "assigned_at": self.clock.now(),
        }

    def _reserve_out(self, doc: dict) -> dict:
        return {k: doc.get(k) for k in ("grid_code", "name", "kind", "phone", "user_id")} | {
            "id": doc["_id"]
        }

    def _after_import(self, importer: importing.Importer) -> None:
        self.outbox.wake()
        for code, boundary, version in importer.changed_grids:
            self.grid_index.put(code, boundary, version)
