"""Visits and the duty engine: coverage, overdue households, the leader's board."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.caller import Caller
from contracts.errors import NotFound, ValidationFailed
from contracts.grid import VISIT_LOGGED
from services.grid import domain, households, posts
from services.grid.answers import _iso, visit_out
from services.grid.base import GridBase, grid_rpc
from services.grid.storage import new_id


class VisitRpc(GridBase):
    @grid_rpc
    def log_visit(self, data: dict, client_id: str, *, caller: Caller):
        """Log a home visit by `actor`: {household_id, kind: routine|care|wartime,
        occurred_at (ISO, with zone; default now), findings?: {opinions: [..], hazards: [..],
        disputes: [..]}, case_draft?: {title, description, category}, note?}. Sent again with
        the same client_id it is recorded once."""
        now = self.clock.now()
        problems = domain.check_visit(data, now)
        if problems:
            raise ValidationFailed(details=problems)
        actor = caller.actor
        household = households.visible(self.store, str(data["household_id"]), caller)
        occurred = domain.parse_time(data["occurred_at"]) if data.get("occurred_at") else now
        body = {"data": data}

        def execute(session):
            doc = {
                "_id": new_id(),
                "client_id": client_id,
                "household_id": household["_id"],
                "grid_code": household["grid_code"],
                "worker_id": actor,
                "kind": data["kind"],
                "occurred_at": occurred,
                "recorded_at": now,
                "findings": {k: list(v) for k, v in (data.get("findings") or {}).items()},
                "case_draft": data.get("case_draft"),
                "note": data.get("note"),
            }
            self.store.insert_visit(doc, session=session)
            self.store.mark_visited(household["_id"], occurred, data["kind"] == "care", session)
            self.outbox.record(
                session,
                VISIT_LOGGED,
                {
                    "visit_id": doc["_id"],
                    "household_id": doc["household_id"],
                    "grid_code": doc["grid_code"],
                    "worker_user_id": actor,
                    "kind": doc["kind"],
                    "occurred_at": occurred.isoformat(),
                },
            )
            return visit_out(doc)

        result = self.store.run_command("log_visit", f"{actor}:{client_id}", body, execute)
        self.outbox.wake()
        return result

    @grid_rpc
    def get_visit(self, visit_id: str, *, caller: Caller) -> dict:
        """One visit {id, household_id, grid_code, worker_id, kind, occurred_at, …}; NotFound
        outside the caller's scopes (cases link a report to the visit it came from)."""
        doc = self.store.visit(visit_id)
        if doc is None:
            raise NotFound(details={"visit_id": visit_id})
        caller.require_visible(doc["grid_code"], "visit_id")
        return visit_out(doc)

    @grid_rpc
    def list_visits(
        self,
        grid_code: str | None = None,
        household_id: str | None = None,
        worker_id: str | None = None,
        limit: int = 50,
        *,
        caller: Caller,
    ) -> list:
        """Visits, newest first, by grid (prefix), household or worker, within scope."""
        query: dict[str, Any] = {}
        if household_id:
            households.visible(self.store, household_id, caller)
            query["household_id"] = household_id
        if worker_id:
            query["worker_id"] = worker_id
        if grid_code:
            caller.require_visible(grid_code, "grid_code")
            query["grid_code"] = {"$gte": grid_code, "$lt": grid_code + "\uffff"}
        if not query:
            raise ValidationFailed(details={"query": "grid_code, household_id or worker_id"})
        docs = self.store.visits_where(query, min(int(limit), 500))
        return [visit_out(d) for d in docs if caller.covers(d["grid_code"])]

    @grid_rpc
    def grid_coverage(self, code: str, *, caller: Caller) -> dict:
        """Visit coverage of a grid in its duty period (quarter for level 2/3, year for
        level 1, in Asia/Shanghai): {code, name, level, period, households, visited, share,
        overdue, overdue_households: [{id, label, last_visit_at}], care_due, care_done,
        days_left}."""
        caller.require_visible(code, "grid_code")
        grid = self._grid_or_404(code)
        now = self.clock.now()
        rows = self.store.duty_rows(code)
        result = self._coverage(grid, rows, now)
        by_id = {r["_id"]: r for r in rows}
        result["overdue_households"] = [
            {
                "id": hid,
                "grid_code": by_id[hid]["grid_code"],
                "label": households.address_label(by_id[hid].get("address") or {}),
                "last_visit_at": _iso(by_id[hid].get("last_visit_at")),
            }
            for hid in result.pop("overdue_ids")[:200]
        ]
        return result

    @grid_rpc
    def my_grids(self, *, caller: Caller) -> list:
        """The grids the calling worker holds posts on, with coverage of each in its duty period:
        [{code, name, level, post, post_zh, ab, absent, coverage: {period, households,
        visited, share, overdue, care_due, care_done, days_left, visits_by_me}}]."""
        now = self.clock.now()
        user_id = caller.actor
        out = []
        for p in self.store.posts_of_user(user_id):
            if not caller.covers(p["grid_code"]):
                continue
            grid = self.store.grid(p["grid_code"])
            if grid is None or grid.get("retired"):
                continue
            cov = self._coverage(grid, self.store.duty_rows(grid["_id"]), now)
            cov.pop("overdue_ids")
            period_start = datetime.fromisoformat(cov["period_start"])
            cov["visits_by_me"] = self.store.count_visits(
                {
                    "worker_id": user_id,
                    "grid_code": {"$gte": grid["_id"], "$lt": grid["_id"] + "\uffff"},
                    "occurred_at": {"$gte": period_start},
                }
            )
            out.append(
                {
                    "code": grid["_id"],
                    "name": grid["name"],
                    "level": grid["level"],
                    **{
                        k: v
                        for k, v in posts.view(p).items()
                        if k in ("post", "post_zh", "ab", "absent")
                    },
                    "coverage": cov,
                }
            )
        return out

    @grid_rpc
    def duty_board(self, code: str, *, caller: Caller) -> dict:
        """The leader's view of a grid and everything under it: staff on duty per grid and
        coverage/overdue per grid: {code, grids: [{code, name, level, on_duty, posts,
        coverage}]}."""
        caller.require_visible(code, "grid_code")
        self._grid_or_404(code)
        now = self.clock.now()
        rows = self.store.duty_rows(code)
        by_grid = posts.by_grid(self.store.posts_under(domain.grid_ancestors(code)[0]))
        out = []
        for g in self.store.grids_under(code):
            mine = [r for r in rows if r["grid_code"].startswith(g["_id"])]
            cov = self._coverage(g, mine, now)
            cov.pop("overdue_ids")
            on_duty = posts.on_duty(g["_id"], by_grid)
            out.append(
                {
                    "code": g["_id"],
                    "name": g["name"],
                    "level": g["level"],
                    "on_duty": on_duty,
                    "posts": [posts.view(p) for p in by_grid[g["_id"]]],
                    "coverage": cov,
                }
            )
        return {"code": code, "grids": out}
