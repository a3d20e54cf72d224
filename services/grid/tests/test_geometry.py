"""Boundaries, containment, overlaps, cover and the locate index."""

from __future__ import annotations

import random

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from services.grid import geometry
from services.grid.geometry import BoundaryError, LocateIndex, rectangle
from services.grid.synthetic import quad_geojson, split_quad

V = "330424001001"


def ring(*points):
    return {"type": "Polygon", "coordinates": [[list(p) for p in points]]}


@pytest.mark.parametrize(
    "geojson, says",
    [
        (ring((0, 0), (1, 1), (1, 0), (0, 1), (0, 0)), "Self-intersection"),
        (ring((0, 0), (1, 0), (1, 1), (0, 1)), "open"),
        (ring((0, 0), (1, 0), (0, 0)), "at least 4"),
        (ring((0, 0), (181, 0), (181, 1), (0, 0)), "out of range"),
        (ring((0, 0), (1, 0), (2, 0), (0, 0)), "not valid"),
        ({"type": "Point", "coordinates": [0, 0]}, "Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[["a", 0]]]}, "at least 4"),
        ("nonsense", "GeoJSON"),
    ],
)
def test_bad_boundaries_say_why(geojson, says):
    with pytest.raises(BoundaryError) as err:
        geometry.parse_boundary(geojson)
    assert says in err.value.problem


def test_good_boundary_parses():
    geom = geometry.parse_boundary(ring((120.9, 30.5), (121, 30.5), (121, 30.6), (120.9, 30.5)))
    assert geom.is_valid and geom.area > 0


def test_area_in_square_metres_is_plausible():
    # 0.001° × 0.001° at 30.5° N is about 96 m × 111 m
    assert 10_400 < geometry.area_m2(rectangle(120.94, 30.52, 120.941, 30.521)) < 10_800


def test_placement_names_the_grids_and_the_overlap():
    parent = rectangle(0, 0, 0.01, 0.01)
    sibling = rectangle(0, 0, 0.005, 0.01)
    mine = rectangle(0.004, 0, 0.011, 0.01)
    problems = geometry.check_placement(f"{V}-001-02", mine, parent, f"{V}-001", {"s": sibling})
    rules = {p.rule for p in problems}
    assert rules == {"outside_parent", "overlaps_sibling"}
    text = " ".join(p.message() for p in problems)
    assert f"{V}-001-02" in text and "m²" in text


def test_a_sliver_within_tolerance_passes():
    parent = rectangle(0, 0, 0.01, 0.01)
    left = rectangle(0, 0, 0.005, 0.01)
    right = rectangle(0.0049999, 0, 0.01, 0.01)  # overlaps by ~1 m of width × 1 km
    assert geometry.check_placement("r", right, parent, "p", {"l": left}) == []


@st.composite
def boxes(draw):
    # coordinates to 6 decimals (~10 cm), as drawn boundaries carry them
    w = round(draw(st.floats(100, 130)), 6)
    s = round(draw(st.floats(20, 40)), 6)
    dx = round(draw(st.floats(0.0005, 0.05)), 6)
    dy = round(draw(st.floats(0.0005, 0.05)), 6)
    return rectangle(w, s, w + dx, s + dy)


@given(boxes(), st.integers(1, 6), st.integers(1, 6))
def test_children_that_tile_a_parent_leave_nothing_uncovered(parent, cols, rows):
    quad = list(parent.exterior.coords)[:4]
    children = [shapely.Polygon(q) for q in split_quad(quad, cols, rows)]
    assert geometry.uncovered_share(parent, children) < 1e-5
    assert geometry.overlaps_among({str(i): c for i, c in enumerate(children)}) == []
    for c in children:
        assert geometry.check_placement("c", c, parent, "p", {}) == []


@given(boxes(), st.floats(0.05, 0.95))
def test_uncovered_share_of_one_strip(parent, share):
    w, s, e, n = parent.bounds
    strip = rectangle(w, s, w + (e - w) * share, n)
    assert geometry.uncovered_share(parent, [strip]) == pytest.approx(1 - share, abs=1e-6)
    assert geometry.uncovered_share(parent, []) == 1.0


@given(boxes(), boxes())
def test_overlap_is_symmetric_and_bounded(a, b):
    assert geometry.overlap_m2(a, b) == pytest.approx(geometry.overlap_m2(b, a), rel=1e-6, abs=1e-3)
    assert geometry.overlap_m2(a, b) <= min(geometry.area_m2(a), geometry.area_m2(b)) * 1.01


def tiled(n_l1=4, micro=(3, 3)):
    """Level-1 strips and micro-grids under a village: code -> polygon."""
    items = {}
    village = [(120.9, 30.5), (121.0, 30.5), (121.0, 30.6), (120.9, 30.6)]
    for i, q in enumerate(split_quad(village, n_l1, 1), start=1):
        l1 = f"{V}-{i:03d}"
        items[l1] = shapely.Polygon(q)
        for j, mq in enumerate(split_quad(q, *micro), start=1):
            items[f"{l1}-{j:02d}"] = shapely.Polygon(mq)
    return items


def brute_force(items, lon, lat):
    p = Point(lon, lat)
    hits = [c for c, g in items.items() if g.intersects(p)]
    return max(hits, key=lambda c: (c.count("-"), [-ord(ch) for ch in c])) if hits else None


@settings(max_examples=200)
@given(st.floats(120.89, 121.01), st.floats(30.49, 30.61))
def test_locate_finds_the_deepest_grid(lon, lat):
    items = tiled()
    index = LocateIndex()
    index.load(items.items())
    found = index.locate(lon, lat)
    expected = brute_force(items, lon, lat)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.code.count("-") == expected.count("-")
        assert items[found.code].intersects(Point(lon, lat))
        assert found.chain[-1] == found.code and found.chain[0] == found.code[:16]


def test_locate_index_follows_changes_and_rebuilds():
    items = tiled()
    index = LocateIndex(rebuild_after=3)
    index.load(items.items())
    code = f"{V}-001-01"
    x, y = items[code].centroid.coords[0]
    assert index.locate(x, y).code == code
    index.remove(code)
    assert index.locate(x, y).code == f"{V}-001"
    index.put(code, items[code])
    assert index.locate(x, y).code == code
    rng = random.Random(1)
    for k in range(5):  # enough changes to ask for a rebuild
        moved = f"{V}-002-0{k + 1}"
        index.put(moved, items[moved])
    assert index.needs_rebuild
    snapshot = index.snapshot()
    base = geometry.build_base(snapshot)
    index.remove(code)  # a change while the new tree was being built
    index.install(snapshot, base)
    assert not index.needs_rebuild
    assert index.locate(x, y).code == f"{V}-001"
    for _ in range(50):
        lon, lat = rng.uniform(120.9, 121.0), rng.uniform(30.5, 30.6)
        found = index.locate(lon, lat)
        assert found is not None and found.code != code


def test_to_geojson_round_trips():
    quad = [(120.9, 30.5), (121.0, 30.5), (121.0, 30.6), (120.9, 30.6)]
    geojson = quad_geojson(quad)
    assert geometry.to_geojson(geometry.parse_boundary(geojson)) == geojson
