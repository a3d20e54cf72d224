"""Grids: the map of the registry (DOMAIN.md §1).

A code fixes a grid's level and parent (`330424001001-001-01`: village, then one segment per
level); a boundary must lie inside the parent's and overlap no sibling, and a redrawn grid
must still hold its children. A grid is retired, never deleted: its code is not reused.

This module holds those rules, how a grid record is built and versioned (`record`), what
callers see of it (`view`), its event (`event`) and its one write path (`save`). The RPCs in
rpc_registry.py and the importer both use it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.errors import ValidationFailed
from contracts.grid import GRID_CHANGED, GridChanged
from services.grid import domain, geometry
from services.grid.versions import Change, Fields, Outbox, Stamp, stamped
from services.grid.versions import save as save_versions

EDITABLE = ("name", "kind", "dedicated_kind", "boundary", "retired")


class Store(Protocol):
    def grid(self, code: str, session: Any = None) -> dict | None: ...
    def grids_by_codes(self, codes: Iterable[str], session: Any = None) -> dict[str, dict]: ...
    def grids_under(
        self, prefix: str, level: int | None = None, session: Any = None
    ) -> list[dict]: ...
    def children(self, parent: str, session: Any = None) -> list[dict]: ...
    def divisions_by_codes(self, codes: Iterable[str], session: Any = None) -> set[str]: ...
    def insert_grids(self, docs: list[dict], session: Any) -> None: ...
    def replace_grids(self, docs: list[dict], session: Any) -> list[str]: ...


# --- rules -----------------------------------------------------------------------------------
def judge(data: Mapping[str, Any]) -> tuple[dict[str, str], Any]:
    """(field -> problem, the parsed boundary or None) for a new or changed grid whose
    fields have passed their schema (contracts.grid_http.GridCreateIn)."""
    problems = domain.check_grid_fields(data)
    shape = None
    if data.get("boundary") is not None:
        try:
            shape = geometry.parse_boundary(data["boundary"])
        except geometry.BoundaryError as exc:
            problems["boundary"] = exc.problem
    return problems, shape


def fields(data: Mapping[str, Any], shape: Any) -> dict[str, Any]:
    """The editable fields of a grid from its checked input."""
    kind = data.get("kind") or "comprehensive"
    return {
        "name": str(data["name"]).strip(),
        "kind": kind,
        "dedicated_kind": data.get("dedicated_kind") if kind == "dedicated" else None,
        "boundary": geometry.to_geojson(shape) if shape is not None else None,
    }


@dataclass(frozen=True)
class Misplaced:
    """Why a grid cannot stand where it is drawn (or under the parent its code names)."""

    code: str
    where: str  # "code" (no such parent) or "geometry"
    message: str
    problem: geometry.Problem | None = None


def placement(store: Store, shapes: Mapping[str, Any], session: Any = None) -> list[Misplaced]:
    """Everything wrong with writing the grids `shapes` ({code: shape or None}) together:
    a parent that does not exist, a boundary outside its parent's, overlapping a sibling
    (in `shapes` or stored), or leaving a stored child outside. One grid from an RPC and a
    whole file from an import are judged alike."""
    found: list[Misplaced] = []
    parents = {domain.grid_parent(c) for c in shapes}
    villages = store.divisions_by_codes([p for p in parents if "-" not in p], session)
    stored = store.grids_by_codes([p for p in parents if "-" in p and p not in shapes], session)
    for code in shapes:
        parent = domain.grid_parent(code)
        if "-" not in parent:
            if parent not in villages:
                found.append(
                    Misplaced(code, "code", f"{code}: there is no village/community {parent}")
                )
        elif parent not in shapes and (parent not in stored or stored[parent].get("retired")):
            found.append(Misplaced(code, "code", f"{code}: there is no parent grid {parent}"))

    by_parent: dict[str, dict[str, Any]] = defaultdict(dict)
    for code, shape in shapes.items():
        if shape is not None:
            by_parent[domain.grid_parent(code)][code] = shape
    for parent, mine in by_parent.items():
        siblings = dict(mine)
        for doc in store.children(parent, session):
            if doc["_id"] not in shapes and doc.get("boundary"):
                siblings[doc["_id"]] = geometry.polygon_of(doc["boundary"])
        for problem in geometry.overlaps_among(siblings):
            for code in problem.grids:
                if code in mine:
                    found.append(Misplaced(code, "geometry", problem.message(), problem))
        parent_shape = shapes.get(parent)
        if parent_shape is None and parent in stored and stored[parent].get("boundary"):
            parent_shape = geometry.polygon_of(stored[parent]["boundary"])
        if parent_shape is not None:
            for code, shape in mine.items():
                for problem in geometry.check_placement(code, shape, parent_shape, parent, {}):
                    found.append(Misplaced(code, "geometry", problem.message(), problem))
    # a redrawn grid must still hold the children that are not redrawn with it
    for code, shape in shapes.items():
        if shape is None:
            continue
        held = {
            c["_id"]: geometry.polygon_of(c["boundary"])
            for c in store.children(code, session)
            if c["_id"] not in shapes and c.get("boundary")
        }
        for problem in geometry.check_placement(code, shape, None, "", {}, held):
            found.append(Misplaced(code, "geometry", problem.message(), problem))
    return found


def require_placed(store: Store, code: str, shape: Any, session: Any = None) -> None:
    """ValidationFailed for one grid that cannot stand where it is drawn: the parent it
    lacks, or each geometry problem with the grids and the overlap in m²."""
    found = placement(store, {code: shape}, session)
    missing = [m for m in found if m.where == "code"]
    if missing:
        raise ValidationFailed(details={"code": missing[0].message})
    problems = [m.problem for m in found if m.problem is not None]
    if problems:
        raise ValidationFailed(
            problems[0].message(),
            details={
                "boundary": "; ".join(p.message() for p in problems),
                "problems": [
                    {"grids": list(p.grids), "rule": p.rule, "m2": round(p.m2, 1)} for p in problems
                ],
            },
        )


def require_live(store: Store, code: str, session: Any = None) -> dict:
    """The grid at `code` for a record to be filed in; ValidationFailed when there is none
    (or it is retired)."""
    grid = store.grid(code, session=session)
    if grid is None or grid.get("retired"):
        raise ValidationFailed(details={"grid_code": f"there is no grid {code}"})
    return grid


# --- the record, its view and its event --------------------------------------------------------
def record(code: str, new: Fields, at: Stamp, current: Fields | None = None) -> dict[str, Any]:
    """The stored grid: new (`current` None) or the next version of `current`."""
    first = {
        "_id": code,
        "level": domain.grid_level(code),
        "parent": domain.grid_parent(code),
        "village": domain.village_of(code),
        "retired": False,
    }
    return stamped(current, new, at, first)


def view(doc: Mapping[str, Any], with_boundary: bool = False) -> dict[str, Any]:
    out = {
        "code": doc["_id"],
        "name": doc["name"],
        "level": doc["level"],
        "parent": doc["parent"],
        "village": doc["village"],
        "kind": doc.get("kind", "comprehensive"),
        "dedicated_kind": doc.get("dedicated_kind"),
        "version": doc.get("version", 1),
        "retired": bool(doc.get("retired")),
        "updated_at": domain.iso(doc.get("updated_at")),
    }
    if with_boundary:
        out["boundary"] = doc.get("boundary")
    return out


def chain(store: Store, code: str) -> list[dict[str, Any]]:
    """The grid and its parents, level 1 first: [{code, name, level}]."""
    codes = domain.grid_ancestors(code)
    docs = store.grids_by_codes(codes)
    return [
        {"code": c, "name": docs[c]["name"], "level": docs[c]["level"]} for c in codes if c in docs
    ]


def event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return GridChanged().dump(
        {
            "code": doc["_id"],
            "change": change,
            "level": doc["level"],
            "parent": doc["parent"],
            "version": doc["version"],
            "actor": doc["updated_by"],
        }
    )


def save(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    """The one write path of grids: the records and their `grid_changed` events."""
    save_versions(
        store.insert_grids, store.replace_grids, outbox, session, GRID_CHANGED, event, changes
    )
