"""Visits and the duty engine: logging and voiding visits, coverage, overdue households,
a worker's grids, the leader's board, and the daily digest of overdue households. Rules
and records in visits.py (and domain.py for the duty periods)."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from nameko.timer import timer

from contracts.caller import Caller
from contracts.errors import Forbidden, ValidationFailed
from contracts.grid import VISITS_OVERDUE
from contracts.grid_http import VisitIn, VisitListQuery
from contracts.roles import GRID_KEEPERS
from services.grid import domain, households, posts, versions, visits
from services.grid.base import GridBase, grid_rpc
from services.grid.storage import new_id
from services.grid.versions import Stamp
from services.kit.inputs import load

log = logging.getLogger(__name__)

# The digest goes out once a day, from 08:00 Asia/Shanghai, whichever instance gets there
# first; every instance looks every DIGEST_SECONDS whether today's is still to send.
DIGEST_HOUR = 8
DIGEST_SECONDS = float(os.environ.get("GRID_DIGEST_CHECK_SECONDS", "900"))
DIGEST_CHUNK = 500  # events per transaction (SecantusDB slows past ~1,000 documents)
DIGEST_STALE = timedelta(hours=1)  # a claim this old was left by an instance that died
LISTING = VisitListQuery(only=("grid_code", "household_id", "worker_id"))


class VisitRpc(GridBase):
    @grid_rpc
    def log_visit(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Log a home visit by the caller: {household_id, kind: routine|care|wartime,
        occurred_at (ISO, with zone; default now), findings?: {opinions: [..], hazards: [..],
        disputes: [..]}, case_draft?: {title, description, category}, note?}. Sent again with
        the same client_id it is recorded once."""
        now = self.clock.now()
        problems = visits.problems(data, now)
        if problems:
            raise ValidationFailed(details=problems)
        data = {**data, "kind": load(VisitIn(), data)["kind"]}  # its default filled in
        household = households.visible(self.store, data["household_id"], caller)

        def execute(session):
            at = Stamp(now, caller.actor)
            doc = visits.record(data, household, client_id=client_id, at=at, new_id=new_id)
            visits.save(self.store, self.outbox, session, doc, "logged")
            return visits.view(doc)

        key = f"{caller.actor}:{client_id}"
        result = self.store.run_command("log_visit", key, {"data": data}, execute)
        self.outbox.wake()
        return result

    @grid_rpc
    def void_visit(self, visit_id: str, reason: str, *, caller: Caller) -> dict:
        """Strike off a visit logged in error (grid leaders and admins): who and why go into
        its history, its household's last visits are worked out again, and `visit_voided`
        is published (points reverse what the visit earned). Voiding twice is once.
        NotFound outside the caller's scopes."""
        if not (caller.is_trusted or caller.has_role(*GRID_KEEPERS)):
            raise Forbidden(details={"required_roles": list(GRID_KEEPERS)})
        reason = str(reason or "").strip()
        if not 1 <= len(reason) <= 200:
            raise ValidationFailed(details={"reason": "1 to 200 characters"})
        current = self._visit_for(visit_id, caller)
        if current.get("voided"):
            return visits.view(current)
        doc = visits.voided(current, reason, Stamp(self.clock.now(), caller.actor))
        self.store.transaction(
            lambda session: visits.save(self.store, self.outbox, session, doc, "voided")
        )
        self.outbox.wake()
        return visits.view(doc)

    @grid_rpc
    def get_visit(self, visit_id: str, *, caller: Caller) -> dict:
        """One visit {id, household_id, grid_code, worker_id, kind, occurred_at, voided, …};
        NotFound outside the caller's scopes (cases link a report to the visit it came
        from)."""
        return visits.view(self._visit_for(visit_id, caller))

    def _visit_for(self, visit_id: str, caller: Caller) -> dict:
        return versions.in_view(self.store.visit(str(visit_id)), caller, visit_id=visit_id)

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
        """Visits (not voided), newest first, by grid (prefix), household or worker, within
        the caller's scopes."""
        wanted = {"grid_code": grid_code, "household_id": household_id, "worker_id": worker_id}
        args = load(LISTING, {k: v for k, v in wanted.items() if v})
        if args.get("household_id"):
            households.visible(self.store, args["household_id"], caller)
        if args.get("grid_code"):
            caller.require_visible(args["grid_code"], "grid_code")
        listing = visits.Listing(
            args.get("household_id"), args.get("worker_id"), args.get("grid_code")
        )
        found = self.store.visits_of(listing, min(int(limit), 500))

        return [visits.view(d) for d in found if caller.covers(d["grid_code"])]

    @grid_rpc
    def grid_coverage(self, code: str, *, caller: Caller) -> dict:
        """Visit coverage of a grid in its duty period (quarter for level 2/3, year for
        level 1, in Asia/Shanghai): {code, name, level, period, households, visited, share,
        overdue, overdue_households: [{id, label, last_visit_at}], care_due, care_done,
        days_left}."""
        caller.require_visible(code, "grid_code")
        grid = self._grid_or_404(code)
        rows = self.store.duty_rows(code)
        result = self._coverage(grid, rows, self.clock.now())
        by_id = {r["_id"]: r for r in rows}
        result["overdue_households"] = [
            {
                "id": hid,
                "grid_code": by_id[hid]["grid_code"],
                "label": households.address_label(by_id[hid].get("address") or {}),
                "last_visit_at": domain.iso(by_id[hid].get("last_visit_at")),
            }
            for hid in result.pop("overdue_ids")[:200]
        ]
        return result

    @grid_rpc
    def my_grids(self, *, caller: Caller) -> list:
        """The grids the calling worker holds posts on, with coverage of each in its duty
        period: [{code, name, level, post, post_zh, ab, absent, coverage: {period,
        households, visited, share, overdue, care_due, care_done, days_left,
        visits_by_me}}]."""
        now = self.clock.now()
        out = []
        for p in self.store.posts_of_user(caller.actor):
            if not caller.covers(p["grid_code"]):
                continue
            grid = self.store.grid(p["grid_code"])
            if grid is None or grid.get("retired"):
                continue
            cov = self._coverage(grid, self.store.duty_rows(grid["_id"]), now)
            cov.pop("overdue_ids")
            since = datetime.fromisoformat(cov["period_start"])
            cov["visits_by_me"] = self.store.count_visits(caller.actor, grid["_id"], since)
            post = posts.view(p, self.vault)
            out.append(
                {
                    "code": grid["_id"],
                    "name": grid["name"],
                    "level": grid["level"],
                    **{k: post[k] for k in ("post", "post_zh", "ab", "absent")},
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
            out.append(
                {
                    "code": g["_id"],
                    "name": g["name"],
                    "level": g["level"],
                    "on_duty": posts.on_duty(g["_id"], by_grid, self.vault),
                    "posts": [posts.view(p, self.vault) for p in by_grid[g["_id"]]],
                    "coverage": cov,
                }
            )
        return {"code": code, "grids": out}

    def _coverage(self, grid: dict, rows: list, now: datetime) -> dict:
        period = domain.duty_period(grid["level"], now)
        found = domain.coverage((domain.duty_of(r) for r in rows), period, now).as_dict()
        return {"code": grid["_id"], "name": grid["name"], "level": grid["level"], **found}

    # --- the daily digest of overdue households --------------------------------------------
    @timer(interval=DIGEST_SECONDS)
    def send_overdue_digest(self) -> int:
        """Once a day from DIGEST_HOUR: one `visits_overdue` event per level-2/3 grid with
        overdue households, to the staff of its posts. Any number of instances may run
        this; the first to claim the day (a unique job record) sends it, in chunks that
        each record how far they got, so an instance that dies is taken over an hour later
        from where it stopped. Answers how many events it recorded."""
        now = self.clock.now()
        local = now.astimezone(domain.LOCAL)
        if local.hour < DIGEST_HOUR:
            return 0
        job_id = f"{VISITS_OVERDUE}:{local.date().isoformat()}"
        job = self.store.claim_job(job_id, now, DIGEST_STALE)
        if job is None:
            return 0
        counts = visits.overdue_counts(self._all_duty_rows(), now)
        grids = self.store.grids_by_codes(counts)
        by_grid = posts.by_grid(self.store.posts_of_grids(counts))
        payloads = [
            p
            for p in visits.overdue_digest(counts, grids, by_grid, now)
            if p["grid_code"] > job["after"]
        ]
        for i in range(0, len(payloads), DIGEST_CHUNK):
            chunk = payloads[i : i + DIGEST_CHUNK]
            last = i + DIGEST_CHUNK >= len(payloads)

            def work(session, chunk=chunk, last=last):
                self.outbox.record_many(session, VISITS_OVERDUE, chunk)
                self.store.advance_job(job_id, chunk[-1]["grid_code"], session, done=last)

            self.store.transaction(work)
            self.outbox.wake()
        if not payloads:
            self.store.transaction(
                lambda session: self.store.advance_job(job_id, "", session, True)
            )
        log.info("visits_overdue digest %s: %d grids", job_id, len(payloads))
        return len(payloads)

    def _all_duty_rows(self):
        """Every household's duty row, village by village (never all in memory at once)."""
        for village in self.store.villages():
            yield from self.store.duty_rows(village)
