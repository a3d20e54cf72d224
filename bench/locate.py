"""Locate over a Jiaxing-scale city: 4,365 level-1 grids and 92,600 micro-grids.

Prints p50 and p99 per query for the service's LocateIndex (deepest grid and its chain)
beside a bare shapely STRtree query over the same 92,600 micro-grid polygons, measured in
the same run over the same points, each figure the median of ROUNDS rounds.

    .venv/bin/python -m bench.locate [--points 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time

import shapely
from shapely import STRtree
from shapely.geometry import Point

from services.grid import geometry
from services.grid.generator import EAST, NORTH, SOUTH, WEST, JiaxingCity


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_each(fn, points) -> list[float]:
    out = []
    clock = time.perf_counter_ns
    for lon, lat in points:
        t0 = clock()
        fn(lon, lat)
        out.append((clock() - t0) / 1000.0)  # µs
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changes", type=int, default=500)
    args = parser.parse_args()

    t0 = time.perf_counter()
    items, micro = [], []
    for code, level, quad in JiaxingCity().grids():
        poly = shapely.Polygon(quad)
        items.append((code, poly))
        if level == 2:
            micro.append(poly)
    t_gen = time.perf_counter() - t0
    level1 = len(items) - len(micro)
    print(f"generated {level1:,} level-1 grids and {len(micro):,} micro-grids in {t_gen:.1f} s")

    t0 = time.perf_counter()
    index = geometry.LocateIndex()
    index.load(items)
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    bare = STRtree(micro)
    t_bare = time.perf_counter() - t0
    print(
        f"LocateIndex build {t_index:.2f} s (all {len(items):,} grids); bare STRtree {t_bare:.2f} s"
    )

    rng = random.Random(5)
    points = [(rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)) for _ in range(args.points)]
    located = sum(1 for p in points if index.locate(*p) is not None)
    print(f"{args.points:,} random points, {located:,} inside a grid")

    def bare_query(lon, lat):
        return bare.query(Point(lon, lat), predicate="intersects")

    def run(label: str) -> None:
        ours, theirs = [], []
        for _ in range(args.rounds):
            o = time_each(index.locate, points)
            b = time_each(bare_query, points)
            ours.append((percentile(o, 0.5), percentile(o, 0.99)))
            theirs.append((percentile(b, 0.5), percentile(b, 0.99)))
        o50 = statistics.median(x[0] for x in ours)
        o99 = statistics.median(x[1] for x in ours)
        b50 = statistics.median(x[0] for x in theirs)
        b99 = statistics.median(x[1] for x in theirs)
        print(
            f"{label:<28} LocateIndex p50 {o50:6.1f} µs  p99 {o99:6.1f} µs | "
            f"bare STRtree p50 {b50:6.1f} µs  p99 {b99:6.1f} µs | ratio p50 {o50 / b50:.2f}× "
            f"p99 {o99 / b99:.2f}×"
        )

    time_each(index.locate, points[:2000])  # warm up caches before measuring
    time_each(bare_query, points[:2000])
    run("fresh index")
    # follow changes: redraw some micro-grids (same shapes, new objects) into the overlay
    for code, poly in rng.sample(items, args.changes):
        index.put(code, shapely.Polygon(poly.exterior.coords))
    run(f"{args.changes} changes in overlay")
    t0 = time.perf_counter()
    snapshot = index.snapshot()
    index.install(snapshot, geometry.build_base(snapshot))
    print(f"rebuild folding the overlay in: {time.perf_counter() - t0:.2f} s")
    run("after rebuild")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
