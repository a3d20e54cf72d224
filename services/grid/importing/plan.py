"""Importing, part 3 of 4: records to a plan. Every record is first loaded through its
schema (what the RPCs take), and only that loaded value is read afterwards: by the scope
check, by the aggregate's rules, and by the writer (issue 7 §1: a `properties` sent as a
list of pairs once read as "no code" to the scope check and as a code to the writer). A
record whose schema refuses it, or whose grid code cannot be read, is a bad row.

The plan is what the file would change, record by record, built by the aggregates (one
builder per record kind); the rows it refuses are named with each problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError

from contracts.caller import Caller
from contracts.grid_http import GridFeatureIn, GridPostIn, HouseholdCreateIn, PlaceCreateIn
from services.grid import domain, grids, households, places, posts, versions
from services.grid.importing.columns import Record
from services.grid.storage import Registry, new_id
from services.grid.vault import Vault
from services.grid.versions import Change, Stamp
from services.kit.inputs import flatten

MAX_BAD_ROWS = 1000  # a report lists at most this many bad rows (and says how many more)
SCHEMAS: dict[str, type[Schema]] = {
    "grids": GridFeatureIn,
    "households": HouseholdCreateIn,
    "places": PlaceCreateIn,
    "staff": GridPostIn,
}
MEMBER = re.compile(r"members\[(\d+)\]")


@dataclass
class Plan:
    kind: str
    rows: int = 0
    bad: dict[int, dict[str, str]] = field(default_factory=dict)
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)  # written through the aggregate

    def problem(self, row: int, where: str, what: str) -> None:
        self.bad.setdefault(row, {})[where] = what

    def problems(self, record: Record, found: Mapping[str, str]) -> None:
        """Each problem on the row it is about (a member's on that member's row)."""
        for where, what in found.items():
            m = MEMBER.match(where)
            i = int(m.group(1)) if m else -1
            self.problem(record.rows[i] if 0 <= i < len(record.rows) else record.first, where, what)

    def report(self) -> dict:
        bad_rows = [{"row": r, "problems": p} for r, p in sorted(self.bad.items())]
        return {
            "kind": self.kind,
            "rows": self.rows,
            "bad_rows": bad_rows[:MAX_BAD_ROWS],
            "bad_row_count": len(bad_rows),
            "created": sum(d["version"] == 1 for d, _ in self.changes),
            "updated": sum(d["version"] > 1 for d, _ in self.changes),
            "unchanged": self.unchanged,
        }


def parse(kind: str, records: list[Record]) -> Plan:
    """Load every record through its kind's schema, before anything else looks at it."""
    plan = Plan(kind)
    schema = SCHEMAS[kind]()
    for record in records:
        plan.rows += len(record.rows)
        try:
            record.parsed = schema.load(record.data)
        except ValidationError as exc:
            plan.problems(record, flatten(exc.messages))
    return plan


def code_of(kind: str, record: Record) -> str | None:
    """The grid code a loaded record is filed under (None when it could not be read)."""
    if record.parsed is None:
        return None
    return record.parsed["properties"]["code"] if kind == "grids" else record.parsed["grid_code"]


def refuse_outside(plan: Plan, records: list[Record], caller: Caller) -> dict | None:
    """The report naming every row whose grid lies outside the caller's scopes (and only
    those: nothing is said about grids the caller may not see); None when there are none."""
    outside = Plan(plan.kind, rows=plan.rows)
    for record in records:
        code = code_of(plan.kind, record)
        if code is not None and not caller.covers(code):
            for row in record.rows:
                outside.problem(row, "grid_code", f"{code} lies outside your scopes")
    return outside.report() if outside.bad else None


class Planner:
    """Turns loaded records into a Plan through the aggregates (no nameko, no writes)."""

    def __init__(self, store: Registry, now: datetime, vault: Vault, actor: str):
        self.store = store
        self.now = now
        self.vault = vault
        self.actor = actor
        self.at = Stamp(now, actor)  # when and by whom every record is stamped

    def plan(self, plan: Plan, records: list[Record]) -> Plan:
        good = [r for r in records if r.parsed is not None]
        return getattr(self, f"_{plan.kind}")(plan, good)

    # grids
    def _grids(self, plan: Plan, records: list[Record]) -> Plan:
        items: dict[str, tuple[Record, dict, Any]] = {}
        for record in records:
            assert record.parsed is not None
            data = {**record.parsed["properties"], "boundary": record.parsed["geometry"]}
            found, shape = grids.judge(data)
            for where, what in found.items():
                plan.problem(record.first, "geometry" if where == "boundary" else where, what)
            code = data["code"]
            if code in items:
                twice = f"{code} appears twice (also feature {items[code][0].first})"
                plan.problem(record.first, "code", twice)
            if record.first not in plan.bad:
                items[code] = (record, data, shape)
        existing = self.store.grids_by_codes(items)
        for code, (record, _, _) in items.items():
            if (existing.get(code) or {}).get("retired"):
                retired = f"{code} belonged to a retired grid; codes are never reused"
                plan.problem(record.first, "code", retired)
        shapes = {code: shape for code, (_, _, shape) in items.items()}
        for misplaced in grids.placement(self.store, shapes):
            plan.problem(items[misplaced.code][0].first, misplaced.where, misplaced.message)
        for code, (record, data, shape) in items.items():
            if record.first in plan.bad:
                continue
            current = existing.get(code)
            new = grids.fields(data, shape)
            if not self._unchanged(plan, current, new):
                doc = grids.record(code, new, self.at, current)
                plan.changes.append((doc, "created" if current is None else "updated"))
        return plan

    # households
    def _households(self, plan: Plan, records: list[Record]) -> Plan:
        today = self.now.astimezone(domain.LOCAL).date()
        good = _unique(
            plan,
            records,
            lambda data: domain.household_rule_problems(data, today),
            lambda data: households.address_key(data["grid_code"], data["address"]),
            ("address", "home"),
        )
        live = self.store.grids_by_codes(_codes(good.values()))
        existing = self.store.households_by_keys(list(good))
        for key, data in _filed(plan, good, live):
            current = existing.get(key)
            new = households.fields(data, current, self.vault, new_id)
            if not self._unchanged(plan, current, new):
                doc = households.record(new, self.at, new_id, current)
                plan.changes.append((doc, "created" if current is None else "updated"))
        return plan

    # places
    def _places(self, plan: Plan, records: list[Record]) -> Plan:
        good = _unique(
            plan,
            records,
            domain.place_rule_problems,
            lambda data: places.key(data["grid_code"], data["kind"], data["name"]),
            ("name", "place"),
        )
        live = self.store.grids_by_codes(_codes(good.values()))
        existing = self.store.places_by_keys(list(good))
        for key, data in _filed(plan, good, live):
            outside = places.outside_grid(data, live[data["grid_code"]])
            if outside:
                plan.problem(good[key].first, "location", outside)
                continue
            current = existing.get(key)
            new = places.fields(data, current, self.vault)
            if not self._unchanged(plan, current, new):
                doc = places.record(new, self.at, new_id, current)
                plan.changes.append((doc, "created" if current is None else "updated"))
        return plan

    # staff
    def _staff(self, plan: Plan, records: list[Record]) -> Plan:
        live = self.store.grids_by_codes(_codes(records))
        placed = {str(i): r for i, r in enumerate(records)}
        good = _unique(
            plan,
            [placed[i] for i, _ in _filed(plan, placed, live)],  # a post's rules need its grid
            lambda data: domain.check_post(data, live[data["grid_code"]]["level"]),
            lambda data: posts.post_id(data["grid_code"], str(data["user_id"]), data["post"]),
            ("post", "post"),
        )
        existing = self.store.posts_by_ids(good)
        for key, record in good.items():
            current = existing.get(key)
            new = posts.fields(record.parsed or {}, current, self.vault)
            if not self._unchanged(plan, current, new):
                plan.changes.append((posts.record(new, self.at, current), "assigned"))
        return plan

    @staticmethod
    def _unchanged(plan: Plan, current, new) -> bool:
        """Is `new` what is stored? (counted as unchanged; else its aggregate builds it)"""
        same = current is not None and not versions.changed(current, new)
        plan.unchanged += same
        return same


def _unique(plan: Plan, records, rules, key_of, same: tuple[str, str]) -> dict[str, Record]:
    """The records that keep their aggregate's rules, by natural key; a second record with
    a key already seen is a bad row naming the first."""
    where, what = same
    good: dict[str, Record] = {}
    for record in records:
        data = record.parsed
        assert data is not None
        found = rules(data)
        if found:
            plan.problems(record, found)
            continue
        key = key_of(data)
        if key in good:
            plan.problem(record.first, where, f"the same {what} as row {good[key].first}")
            continue
        good[key] = record
    return good


def _filed(plan: Plan, good: Mapping[str, Record], live: Mapping[str, dict]):
    """(key, loaded data) of each record whose grid is live; the others are bad rows."""
    for key, record in good.items():
        data = record.parsed
        assert data is not None
        grid = live.get(data["grid_code"])
        if grid is None or grid.get("retired"):
            plan.problem(record.first, "grid_code", f"there is no grid {data['grid_code']}")
            continue
        yield key, data


def _codes(records) -> set[str]:
    return {r.parsed["grid_code"] for r in records if r.parsed is not None}
