"""The importer: one file (or the demo dataset) through the four parts of this package."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contracts.caller import Caller
from contracts.errors import ValidationFailed
from services.grid import divisions, party, posts, reserve, versions
from services.grid.importing import apply, columns, decoding, plan
from services.grid.storage import Registry
from services.grid.vault import Vault
from services.grid.versions import Outbox, Stamp

KINDS = ("grids", "households", "places", "staff")
# A file is written in one transaction: a bigger one is refused up front (apply.py says why).
MAX_RECORDS = int(os.environ.get("GRID_IMPORT_MAX_RECORDS", "10000"))


def _here(work: Callable[..., Any], *args: Any) -> Any:
    return work(*args)


class Importer:
    """Plans and applies imports against a Registry (no nameko here: the benchmarks and
    the service use it alike). `offload` runs the decoding; the service passes
    `isolated.run`, a child process, so a big file does not hold its other calls."""

    def __init__(
        self,
        store: Registry,
        outbox: Outbox,
        now: datetime,
        vault: Vault,
        actor: str,
        max_records: int | None = MAX_RECORDS,
        offload: Callable[..., Any] = _here,
        limits: decoding.Limits = decoding.LIMITS,
    ):
        self.store = store
        self.outbox = outbox
        self.now = now
        self.actor = actor
        self.max_records = max_records
        self.offload = offload
        self.limits = limits
        self.vault = vault
        self.planner = plan.Planner(store, now, vault, actor)
        self.changed_grids: list[tuple[str, Any, int]] = []

    def run(
        self,
        kind: str,
        filename: str,
        content: bytes,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> dict:
        """Judge a file and, when every row is good and not `dry_run`, apply it whole.

        A file with any row whose grid code lies outside the caller's scopes raises
        ValidationFailed naming each such row (and only those), before anything else is
        judged; a trusted caller (the benchmarks) reaches every grid."""
        if kind not in KINDS:
            raise ValidationFailed(details={"kind": f"one of {', '.join(KINDS)}"})
        caller = caller or Caller.trusted("grid")
        records, encoding = self.offload(columns.read_records, kind, filename, content, self.limits)
        if self.max_records is not None and len(records) > self.max_records:
            raise ValidationFailed(
                details={
                    "file": f"{len(records)} records; at most {self.max_records} per file "
                    "(a file is written in one transaction): split it, by community say",
                    "max_records": self.max_records,
                }
            )
        judged = plan.parse(kind, records)
        head = {"file": filename, "encoding": encoding}
        outside = plan.refuse_outside(judged, records, caller)
        if outside:
            raise ValidationFailed(
                f"{outside['bad_row_count']} rows outside the caller's scopes; nothing imported",
                details={**head, **outside, "applied": False},
            )
        self.planner.plan(judged, records)
        report = {**head, **judged.report(), "applied": False}
        if judged.bad or dry_run:
            return report
        digest = hashlib.sha256(kind.encode() + b"\0" + content).hexdigest()
        seen_before = self.store.import_record(digest) is not None
        self.changed_grids += apply.apply(self.store, self.outbox, judged)
        report.update(applied=True, seen_before=seen_before)
        apply.remember(
            self.store, digest, report, kind=kind, filename=filename, actor=self.actor, now=self.now
        )
        return report

    def load_dataset(self, dataset: dict, user_ids: dict[str, str]) -> dict:
        """Divisions, grids, households, places, staff (and optional reserve, party) of a
        dataset dict, in that order; each part judged whole, then applied."""
        known = {d["_id"] for d in self.store.divisions_under()}
        counts: dict[str, int] = {}
        for doc in divisions.records(dataset.get("divisions", []), known, self.actor):
            change = self.store.put_division(doc)
            counts[change] = counts.get(change, 0) + 1
        summary: dict[str, Any] = {"divisions": counts}
        staff = [
            {**{k: s[k] for k in posts.EDITABLE if k in s}, "user_id": _user_id(s, user_ids)}
            for s in dataset.get("staff", [])
        ]
        parts = [
            ("grids", columns.feature_records(dataset.get("grids", {}).get("features", []))),
            ("households", columns.dataset_records(dataset.get("households", []), members=True)),
            ("places", columns.dataset_records(dataset.get("places", []))),
            ("staff", columns.dataset_records(staff)),
        ]
        for kind, records in parts:
            judged = self.planner.plan(plan.parse(kind, records), records)
            if judged.bad:
                raise ValidationFailed(
                    f"the dataset's {kind} have bad rows; nothing more was loaded",
                    details=judged.report(),
                )
            # a dataset is loaded again to finish: transactions of at most 1,000 records
            self.changed_grids += apply.apply(self.store, self.outbox, judged, chunk=1000)
            summary[kind] = {k: judged.report()[k] for k in ("created", "updated", "unchanged")}
        summary["reserve"] = self._reserve(dataset.get("reserve", []))
        summary["party_units"] = self._party_units(dataset.get("party_units", []))
        return summary

    def _reserve(self, members: list[dict]) -> int:
        """The dataset's reserve teams, through the reserve's write path: how many changed."""
        at = Stamp(self.now, self.actor)
        changes = []
        for member in members:
            current = self.store.reserve_member(reserve.member_id(member["grid_code"], member))
            new = reserve.fields(member["grid_code"], member, current, self.vault)
            if current is None or versions.changed(current, new):
                changes.append(
                    (reserve.record(new, at, current), "added" if current is None else "updated")
                )
        if changes:
            self.store.transaction(
                lambda session: reserve.save(self.store, self.outbox, session, changes)
            )
        return len(changes)

    def _party_units(self, units: list[dict]) -> int:
        at = Stamp(self.now, self.actor)
        changes = []
        for unit in units:
            current = self.store.party_unit(unit["grid_code"])
            new = party.unit_fields(unit)
            if current is None or versions.changed(current, new):
                changes.append((party.unit_record(unit["grid_code"], new, at, current), "set"))
        if changes:
            self.store.transaction(
                lambda session: party.save_units(self.store, self.outbox, session, changes)
            )
        return len(changes)


def _user_id(staff: dict, user_ids: dict[str, str]) -> str | None:
    """The identity user id of a staff entry; the username stands in when none is known."""
    username = staff.get("username")
    return user_ids.get(username or "") or staff.get("user_id") or username
