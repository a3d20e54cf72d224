"""Grid boundaries: parsing and validating GeoJSON polygons, containment and overlap
checks between grids, and the in-memory locate index (point -> deepest grid).

Coordinates are WGS84 lon/lat. Areas are reported in square metres on a local
equirectangular approximation, which is accurate to well under 1 % at grid sizes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import STRtree
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from services.grid import domain

# A child may stick out of its parent, and siblings may overlap, by this share of the
# smaller polygon's area (hand-drawn shared edges leave slivers), or by 1 m², whichever
# is larger.
TOLERANCE_SHARE = 0.001
TOLERANCE_M2 = 1.0
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0


class BoundaryError(ValueError):
    """A boundary that cannot be a grid's; `problem` says why in words."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def parse_boundary(geojson: Any) -> BaseGeometry:
    """A valid Polygon/MultiPolygon from a GeoJSON geometry, or BoundaryError."""
    if not isinstance(geojson, Mapping):
        raise BoundaryError("a GeoJSON geometry object is required")
    kind = geojson.get("type")
    coords = geojson.get("coordinates")
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise BoundaryError("a MultiPolygon needs at least one polygon")
        polygons = coords
    else:
        raise BoundaryError(f"type must be Polygon or MultiPolygon, not {kind!r}")
    for p, rings in enumerate(polygons):
        if not isinstance(rings, list) or not rings:
            raise BoundaryError(f"polygon {p} has no rings")
        for r, ring in enumerate(rings):
            _check_ring(ring, f"polygon {p} ring {r}" if kind == "MultiPolygon" else f"ring {r}")
    try:
        geom = shape({"type": kind, "coordinates": coords})
    except Exception as exc:  # shapely's own complaint, in words
        raise BoundaryError(f"not a polygon: {exc}") from exc
    if not geom.is_valid:
        raise BoundaryError(f"the polygon is not valid: {shapely.is_valid_reason(geom)}")
    if geom.is_empty or geom.area == 0:
        raise BoundaryError("the polygon has no area")
    return geom


def _check_ring(ring: Any, where: str) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise BoundaryError(f"{where}: a ring needs at least 4 positions (closed)")
    for i, pos in enumerate(ring):
        if (
            not isinstance(pos, list | tuple)
            or len(pos) < 2
            or not all(isinstance(v, int | float) and math.isfinite(v) for v in pos[:2])
        ):
            raise BoundaryError(f"{where} position {i}: [longitude, latitude] numbers")
        lon, lat = pos[0], pos[1]
        if not -180 <= lon <= 180 or not -90 <= lat <= 90:
            raise BoundaryError(
                f"{where} position {i}: ({lon}, {lat}) is out of range "
                "(longitude −180…180, latitude −90…90)"
            )
    if list(ring[0][:2]) != list(ring[-1][:2]):
        raise BoundaryError(f"{where} is open: its first and last positions differ")


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres (local equirectangular scale at the shape's latitude)."""
    if geom.is_empty:
        return 0.0
    lat = geom.centroid.y
    return geom.area * M_PER_DEG_LAT * M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat))


def _tolerance(*geoms: BaseGeometry) -> float:
    return max(TOLERANCE_M2, TOLERANCE_SHARE * min(area_m2(g) for g in geoms))


def outside_m2(child: BaseGeometry, parent: BaseGeometry) -> float:
    """How much of `child` lies outside `parent`, in m²."""
    return area_m2(child.difference(parent))


def overlap_m2(a: BaseGeometry, b: BaseGeometry) -> float:
    return area_m2(a.intersection(b)) if a.intersects(b) else 0.0


def uncovered_share(parent: BaseGeometry, children: Iterable[BaseGeometry]) -> float:
    """The share (0…1) of `parent` that its children leave uncovered."""
    parts = [c for c in children if not c.is_empty]
    if not parts:
        return 1.0
    covered = shapely.union_all(parts).intersection(parent)
    return min(1.0, max(0.0, 1.0 - covered.area / parent.area))


@dataclass(frozen=True)
class Problem:
    grids: tuple[str, ...]
    rule: str  # outside_parent | overlaps_sibling | child_outside
    m2: float

    def message(self) -> str:
        a = self.grids[0]
        if self.rule == "outside_parent":
            return f"grid {a} reaches {self.m2:.0f} m² outside its parent {self.grids[1]}"
        if self.rule == "child_outside":
            return f"child grid {self.grids[1]} would lie {self.m2:.0f} m² outside grid {a}"
        return f"grid {a} overlaps grid {self.grids[1]} by {self.m2:.0f} m²"


def check_placement(
    code: str,
    geom: BaseGeometry,
    parent: BaseGeometry | None,
    parent_code: str,
    siblings: Mapping[str, BaseGeometry],
    children: Mapping[str, BaseGeometry] | None = None,
) -> list[Problem]:
    """Everything wrong with putting `geom` at `code`: outside its parent, overlapping a
    sibling beyond tolerance, or leaving one of its own children outside."""
    problems: list[Problem] = []
    if parent is not None:
        out = outside_m2(geom, parent)
        if out > _tolerance(geom):
            problems.append(Problem((code, parent_code), "outside_parent", out))
    for other, other_geom in sorted(siblings.items()):
        if other == code:
            continue
        shared = overlap_m2(geom, other_geom)
        if shared > _tolerance(geom, other_geom):
            problems.append(Problem((code, other), "overlaps_sibling", shared))
    for child, child_geom in sorted((children or {}).items()):
        out = outside_m2(child_geom, geom)
        if out > _tolerance(child_geom):
            problems.append(Problem((code, child), "child_outside", out))
    return problems


def overlaps_among(items: Mapping[str, BaseGeometry]) -> list[Problem]:
    """Pairwise overlaps beyond tolerance within one set of siblings (an STRtree join)."""
    codes = sorted(items)
    geoms = [items[c] for c in codes]
    if len(geoms) < 2:
        return []
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    problems = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            shared = overlap_m2(geoms[i], geoms[j])
            if shared > _tolerance(geoms[i], geoms[j]):
                problems.append(Problem((codes[i], codes[j]), "overlaps_sibling", shared))
    return problems


# --- locate -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Located:
    code: str
    chain: tuple[str, ...]  # level-1 … the located grid itself


@dataclass(frozen=True)
class _Base:
    codes: list[str]
    levels: list[int]
    tree: STRtree | None
    pos: dict[str, int]


def build_base(snapshot: Mapping[str, BaseGeometry]) -> _Base:
    """The big tree over a snapshot of the grids: the CPU-bound part, thread-safe."""
    codes = sorted(snapshot)
    geoms = [snapshot[c] for c in codes]
    return _Base(
        codes=codes,
        levels=[domain.grid_level(c) for c in codes],
        tree=STRtree(geoms) if geoms else None,
        pos={c: i for i, c in enumerate(codes)},
    )


class LocateIndex:
    """Point -> deepest grid containing it, over every grid with a boundary.

    An STRtree cannot change after it is built, so changes since the last build sit in a
    small overlay (its own STRtree, rebuilt on the next query after a change) and the
    grids they replace are masked out of the big tree. To fold the overlay in, take a
    `snapshot()`, run `build_base(snapshot)` off the event loop (eventlet.tpool), then
    `install(snapshot, base)`; changes made meanwhile stay in the overlay.
    """

    def __init__(self, rebuild_after: int = 2048):
        self.rebuild_after = rebuild_after
        self._geoms: dict[str, BaseGeometry] = {}
        self._base = build_base({})
        self._live = bytearray()  # 1 = the tree's entry is current (plain bytes: fast to index)
        self._overlay: dict[str, BaseGeometry] = {}
        self._overlay_tree: STRtree | None = None
        self._overlay_codes: list[str] = []

    def __len__(self) -> int:
        return len(self._geoms)

    def __contains__(self, code: str) -> bool:
        return code in self._geoms

    def load(self, items: Iterable[tuple[str, BaseGeometry]]) -> None:
        """Replace the whole content and build the tree at once (in the caller's thread)."""
        self._geoms = dict(items)
        snapshot = self.snapshot()
        self.install(snapshot, build_base(snapshot))

    def put(self, code: str, geom: BaseGeometry) -> None:
        self._geoms[code] = geom
        self._overlay[code] = geom
        self._mask(code)

    def remove(self, code: str) -> None:
        self._geoms.pop(code, None)
        self._overlay.pop(code, None)
        self._mask(code)

    def get(self, code: str) -> BaseGeometry | None:
        return self._geoms.get(code)

    @property
    def needs_rebuild(self) -> bool:
        return len(self._overlay) > self.rebuild_after

    def snapshot(self) -> dict[str, BaseGeometry]:
        return dict(self._geoms)

    def install(self, snapshot: Mapping[str, BaseGeometry], base: _Base) -> None:
        live = bytearray(b"\x01" * len(base.codes))
        overlay = {}
        for code, geom in self._geoms.items():
            if snapshot.get(code) is not geom:
                overlay[code] = geom
        for code, geom in snapshot.items():
            if self._geoms.get(code) is not geom:
                live[base.pos[code]] = 0
        self._base, self._live = base, live
        self._overlay, self._overlay_tree = overlay, None

    def _mask(self, code: str) -> None:
        i = self._base.pos.get(code)
        if i is not None:
            self._live[i] = 0
        self._overlay_tree = None

    def locate(self, lon: float, lat: float) -> Located | None:
        point = Point(lon, lat)
        best: str | None = None
        best_level = 0
        base, live = self._base, self._live
        if base.tree is not None:
            for i in base.tree.query(point, predicate="intersects").tolist():
                if live[i]:
                    level = base.levels[i]
                    code = base.codes[i]
                    if level > best_level or (level == best_level and best and code < best):
                        best, best_level = code, level
        if self._overlay:
            if self._overlay_tree is None:
                self._overlay_codes = sorted(self._overlay)
                self._overlay_tree = STRtree([self._overlay[c] for c in self._overlay_codes])
            for i in self._overlay_tree.query(point, predicate="intersects").tolist():
                code = self._overlay_codes[i]
                level = domain.grid_level(code)
                if level > best_level or (level == best_level and best and code < best):
                    best, best_level = code, level
        if best is None:
            return None
        return Located(best, tuple(domain.grid_ancestors(best)))


def polygon_of(geojson: Mapping[str, Any]) -> BaseGeometry:
    """Shape from stored (already validated) GeoJSON, prepared for fast predicates."""
    geom = shape(geojson)
    shapely.prepare(geom)
    return geom


def rectangle(west: float, south: float, east: float, north: float) -> Polygon:
    return Polygon([(west, south), (east, south), (east, north), (west, north)])


def to_geojson(geom: BaseGeometry, digits: int = 7) -> dict:
    """GeoJSON geometry (plain lists) with coordinates rounded to ~1 cm."""
    return _listify(shapely.geometry.mapping(geom), digits)


def _listify(value: Any, digits: int) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_listify(v, digits) for v in value]
    if isinstance(value, float):
        return round(value, digits)
    return value


__all__ = [
    "BoundaryError",
    "LocateIndex",
    "build_base",
    "Located",
    "MultiPolygon",
    "Problem",
    "area_m2",
    "check_placement",
    "overlaps_among",
    "parse_boundary",
    "polygon_of",
    "rectangle",
    "to_geojson",
    "uncovered_share",
]
