"""A city at Jiaxing's scale for benchmarks (002: 1,144 villages/communities → 4,365 grids →
92,600+ micro-grids; about 2 million households). Everything is generated lazily: grids
and households stream out one at a time, so a benchmark can take the first N.

Layout: 7 county-level divisions side by side over Jiaxing's extent, villages on a
lattice inside them, each village split into 3–4 level-1 grids (strips) and each level-1
grid into 21–22 level-2 micro-grids (a sub-lattice), all exact tilings.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from services.grid import synthetic
from services.grid.synthetic import quad_geojson, split_quad

COUNTIES = (
    ("330402", "南湖区"),
    ("330411", "秀洲区"),
    ("330421", "嘉善县"),
    ("330424", "海盐县"),
    ("330481", "海宁市"),
    ("330482", "平湖市"),
    ("330483", "桐乡市"),
)
VILLAGES = 1144
LEVEL1 = 4365
MICRO = 92600
HOUSEHOLDS = 2_000_000
WEST, SOUTH, EAST, NORTH = 120.30, 30.40, 121.30, 31.00  # Jiaxing, roughly
LATTICE = 34  # 34 × 34 = 1,156 village cells ≥ 1,144
TOWNS_PER_COUNTY = 12


def _spread(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole numbers (the larger ones first)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


@dataclass(frozen=True)
class MicroGrid:
    code: str
    level1: str
    quad: list
    households: int


class JiaxingCity:
    def __init__(self, seed: int = 11, households: int = HOUSEHOLDS):
        self.seed = seed
        self.level1_per_village = _spread(LEVEL1, VILLAGES)
        self.micro_per_level1 = _spread(MICRO, LEVEL1)
        self.households_per_micro = _spread(households, MICRO)

    def village_codes(self) -> Iterator[tuple[str, str, str, int]]:
        """(village code, county code, town code, lattice cell index)."""
        per_county = _spread(VILLAGES, len(COUNTIES))
        cell = 0
        for (county, _), count in zip(COUNTIES, per_county, strict=True):
            per_town = _spread(count, TOWNS_PER_COUNTY)
            for t, villages in enumerate(per_town, start=1):
                town = f"{county}{t:03d}"
                for v in range(1, villages + 1):
                    yield f"{town}{v:03d}", county, town, cell
                    cell += 1

    def divisions(self) -> Iterator[dict]:
        yield {"code": "33", "name": "浙江省"}
        yield {"code": "3304", "name": "嘉兴市"}
        names = dict(COUNTIES)
        seen: set[str] = set()
        for village, county, town, _ in self.village_codes():
            if county not in seen:
                seen.add(county)
                yield {"code": county, "name": names[county]}
            if town not in seen:
                seen.add(town)
                yield {"code": town, "name": f"{names[county]}第{town[-3:]}镇街"}
            yield {"code": village, "name": f"第{village[-6:]}村社区"}

    def _village_quad(self, cell: int) -> list:
        i, j = cell % LATTICE, cell // LATTICE
        dx, dy = (EAST - WEST) / LATTICE, (NORTH - SOUTH) / LATTICE
        w, s = WEST + i * dx, SOUTH + j * dy
        return [(w, s), (w + dx, s), (w + dx, s + dy), (w, s + dy)]

    def grids(self) -> Iterator[tuple[str, int, list]]:
        """(code, level, quad) for every grid, a level-1 grid before its micro-grids."""
        yield from self._walk(with_level1=True)

    def micro_grids(self) -> Iterator[MicroGrid]:
        for code, _level, quad, level1, n in self._walk(with_level1=False, detail=True):
            yield MicroGrid(code, level1, quad, n)

    def _walk(self, with_level1: bool, detail: bool = False) -> Iterator:
        l1_index = 0
        micro_index = 0
        for v_index, (village, _, _, cell) in enumerate(self.village_codes()):
            strips = self.level1_per_village[v_index]
            for s, quad in enumerate(split_quad(self._village_quad(cell), strips, 1), start=1):
                l1 = f"{village}-{s:03d}"
                if with_level1:
                    yield (l1, 1, quad)
                micros = self.micro_per_level1[l1_index]
                l1_index += 1
                cols = 3
                rows = -(-micros // cols)
                cells = split_quad(quad, cols, rows)
                for m in range(micros):
                    code = f"{l1}-{m + 1:02d}"
                    n = self.households_per_micro[micro_index]
                    micro_index += 1
                    if detail:
                        yield (code, 2, cells[m], l1, n)
                    else:
                        yield (code, 2, cells[m])

    def features(self) -> Iterator[dict]:
        """GeoJSON features of every grid, lazily."""
        for code, level, quad in self.grids():
            yield {
                "type": "Feature",
                "geometry": quad_geojson(quad),
                "properties": {"code": code, "name": f"网格{code[-10:]}", "level": level},
            }

    def households(self, limit: int | None = None) -> Iterator[dict]:
        """Household dicts micro-grid by micro-grid; `limit` stops early."""
        rng = random.Random(self.seed)
        today = date(2024, 1, 1)
        produced = 0
        for micro in self.micro_grids():
            for k in range(micro.households):
                if limit is not None and produced >= limit:
                    return
                address = {"building": str(k // 12 + 1), "unit": "1", "room": f"{k % 12 + 101}"}
                yield synthetic.household(rng, today, micro.code[:6], micro.code, address)
                produced += 1
