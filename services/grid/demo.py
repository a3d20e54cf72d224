"""Demo data for `make run`: Haiyan county (330424) with 武原街道 and 通元镇, one
community and one village each, grids drawn near their real place, about 2,100 synthetic
households and staff in every post.

The fixed demo accounts (password Demo@12345, created by identity from `staff`):
leader01 (网格长 of 海兴社区第一网格), worker01 (full-time worker of that grid and A post of
its building 1 and unit 1), worker02 (B post of the same two grids), instructor01.
"""

from __future__ import annotations

import random
from datetime import date

from services.grid import synthetic
from services.grid.synthetic import quad_geojson, split_quad

COUNTY = "330424"
WUYUAN = "330424001"  # 武原街道
TONGYUAN = "330424104"  # 通元镇 (plausible code; the seeds name the town, not its code)
HAIXING = "330424001001"  # 海兴社区
TENGJING = "330424104201"  # 滕泾村

DIVISIONS = [
    {"code": "33", "name": "浙江省"},
    {"code": "3304", "name": "嘉兴市"},
    {"code": COUNTY, "name": "海盐县"},
    {"code": WUYUAN, "name": "武原街道"},
    {"code": TONGYUAN, "name": "通元镇"},
    {"code": HAIXING, "name": "海兴社区"},
    {"code": TENGJING, "name": "滕泾村"},
]

# Level-1 grid size in degrees (about 290 m × 330 m at 30.5° N).
L1_DLON, L1_DLAT = 0.003, 0.003
HAIXING_ORIGIN = (120.9405, 30.5190)  # south-west corner, in 武原街道 near the county seat
TENGJING_ORIGIN = (120.8420, 30.5560)  # 通元镇, west of the county seat

NUMERALS = "一二三四五六七八九十"
DEMO_DATE = date(2024, 1, 1)  # birth dates are drawn relative to this, so data is stable


def _lattice(origin: tuple[float, float], cols: int, rows: int, rng: random.Random) -> dict:
    """Jittered lattice points shared by neighbouring level-1 grids (no gaps, no overlap)."""
    points = {}
    for i in range(cols + 1):
        for j in range(rows + 1):
            jitter = 0.0 if i in (0, cols) or j in (0, rows) else 0.0004
            points[i, j] = (
                round(origin[0] + i * L1_DLON + rng.uniform(-jitter, jitter), 7),
                round(origin[1] + j * L1_DLAT + rng.uniform(-jitter, jitter), 7),
            )
    return points


def _cell(points: dict, i: int, j: int) -> list:
    return [points[i, j], points[i + 1, j], points[i + 1, j + 1], points[i, j + 1]]


def _feature(code: str, name: str, quad: list, kind: str = "comprehensive", dedicated=None):
    props = {"code": code, "name": name, "kind": kind}
    if dedicated:
        props["dedicated_kind"] = dedicated
    return {"type": "Feature", "geometry": quad_geojson(quad), "properties": props}


def _centre(quad: list) -> list[float]:
    xs, ys = zip(*quad, strict=True)
    return [round(sum(xs) / 4, 7), round(sum(ys) / 4, 7)]


class _Staff:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.entries: list[dict] = []
        self.people: dict[str, tuple[str, str]] = {}

    def person(self, username: str, name: str | None = None, phone: str | None = None):
        if username not in self.people:
            self.people[username] = (
                name or synthetic.person_name(self.rng),
                phone or synthetic.mobile(self.rng),
            )
        return self.people[username]

    def add(self, username, roles, scopes, grid_code, post, ab=None, name=None, phone=None):
        display, tel = self.person(username, name, phone)
        self.entries.append(
            {
                "username": username,
                "display_name": display,
                "phone": tel,
                "roles": roles,
                "scopes": scopes,
                "grid_code": grid_code,
                "post": post,
                "ab": ab,
            }
        )


def demo_dataset(seed: int = 7) -> dict:
    """{divisions, grids (FeatureCollection), households, places, staff, reserve,
    party_units}; the same seed gives the same dataset."""
    rng = random.Random(seed)
    features: list[dict] = []
    households: list[dict] = []
    places: list[dict] = []
    staff = _Staff(rng)
    reserve: list[dict] = []
    party: list[dict] = []

    # --- 海兴社区: 3 estates (level 1) × 4 buildings (level 2) × 3 units (level 3) + a
    # dedicated street-shop grid; about 32 households per unit.
    points = _lattice(HAIXING_ORIGIN, 2, 2, rng)
    cells = [_cell(points, 0, 0), _cell(points, 1, 0), _cell(points, 0, 1), _cell(points, 1, 1)]
    for n, quad in enumerate(cells[:3], start=1):
        l1 = f"{HAIXING}-{n:03d}"
        features.append(_feature(l1, f"海兴社区第{NUMERALS[n - 1]}网格", quad))
        party.append(
            {"grid_code": l1, "kind": "group", "name": f"海兴社区第{NUMERALS[n - 1]}网格党小组"}
        )
        _level1_staff(staff, l1, HAIXING, n)
        _reserve(reserve, l1, rng)
        for b, bquad in enumerate(split_quad(quad, 4, 1), start=1):
            l2 = f"{l1}-{b:02d}"
            features.append(_feature(l2, f"{b}幢", bquad))
            pair = (f"hx{n}b{b}a", f"hx{n}b{b}b")
            if (n, b) == (1, 1):
                pair = ("worker01", "worker02")
            staff.add(
                pair[0],
                ["grid_worker"],
                [l1 if pair[0] == "worker01" else l2],
                l2,
                "full_time_worker" if pair[0] == "worker01" else "part_time_worker",
                "A",
            )
            staff.add(pair[1], ["grid_worker"], [l2], l2, "part_time_worker", "B")
            for u, uquad in enumerate(split_quad(bquad, 1, 3), start=1):
                l3 = f"{l2}-{u:02d}"
                features.append(_feature(l3, f"{b}幢{u}单元", uquad))
                if (n, b, u) == (1, 1, 1):
                    staff.add("worker01", ["grid_worker"], [l1], l3, "full_time_worker", "A")
                    staff.add("worker02", ["grid_worker"], [l2], l3, "part_time_worker", "B")
                else:
                    a, bb = f"hx{n}b{b}u{u}a", f"hx{n}b{b}u{u}b"
                    staff.add(a, ["grid_worker"], [l3], l3, "micro_grid_leader", "A")
                    staff.add(bb, ["grid_worker"], [l3], l3, "part_time_worker", "B")
                for floor in range(1, 9):
                    for door in range(1, 5):
                        address = {"building": str(b), "unit": str(u), "room": f"{floor}0{door}"}
                        households.append(synthetic.household(rng, DEMO_DATE, COUNTY, l3, address))
            if b == 4:
                places.append(
                    {
                        "grid_code": l2,
                        "kind": "facility",
                        "name": f"海兴第{n}小区{b}幢消防栓",
                        "location": _centre(bquad),
                        "contact": {
                            "person": staff.people[pair[0]][0],
                            "phone": staff.people[pair[0]][1],
                        },
                    }
                )
        places.append(
            {
                "grid_code": l1,
                "kind": "organisation",
                "name": f"海兴第{n}小区业主委员会",
                "address": f"海兴社区第{n}小区物业楼",
                "location": _centre(split_quad(quad, 4, 1)[1]),
                "contact": {"person": synthetic.person_name(rng), "phone": synthetic.mobile(rng)},
            }
        )
    shops = f"{HAIXING}-004"
    features.append(_feature(shops, "海兴路商业街专属网格", cells[3], "dedicated", "street_shops"))
    staff.add("hxshop_leader", ["grid_leader"], [shops], shops, "grid_leader")
    staff.add("hxshop_ft", ["grid_worker"], [shops], shops, "full_time_worker")
    for s, squad in enumerate(split_quad(cells[3], 2, 1), start=1):
        code = f"{shops}-{s:02d}"
        features.append(
            _feature(code, f"商业街{'东西'[s - 1]}段", squad, "dedicated", "street_shops")
        )
        staff.add(f"hxshop{s}a", ["grid_worker"], [code], code, "part_time_worker", "A")
        staff.add(f"hxshop{s}b", ["grid_worker"], [code], code, "part_time_worker", "B")
        for k, shop in enumerate(("便利店", "理发店", "水果店", "药店", "小吃店")):
            x, y = synthetic.bilinear(squad, 0.15 + 0.17 * k, 0.5)
            places.append(
                {
                    "grid_code": code,
                    "kind": "shop",
                    "name": f"海兴路{s}{k + 1}号{shop}",
                    "address": f"海兴路{s}{k + 1}号",
                    "location": [x, y],
                    "contact": {
                        "person": synthetic.person_name(rng),
                        "phone": synthetic.mobile(rng),
                    },
                }
            )
    places.append(
        {
            "grid_code": f"{shops}-01",
            "kind": "hazard_point",
            "name": "海兴路燃气管道检修井",
            "location": _centre(split_quad(cells[3], 2, 1)[0]),
            "note": "雨季注意积水",
        }
    )

    # --- 滕泾村: 3 villagers' groups (level 1) × 11 level-2 grids of about 30 households.
    points = _lattice(TENGJING_ORIGIN, 3, 1, rng)
    for n in range(1, 4):
        quad = _cell(points, n - 1, 0)
        l1 = f"{TENGJING}-{n:03d}"
        features.append(_feature(l1, f"滕泾村{n}组网格", quad))
        party.append({"grid_code": l1, "kind": "group", "name": f"滕泾村{n}组党小组"})
        _level1_staff(staff, l1, TENGJING, n + 3)
        _reserve(reserve, l1, rng)
        house = 0
        for g, gquad in enumerate(split_quad(quad, 4, 3)[:11], start=1):
            l2 = f"{l1}-{g:02d}"
            features.append(_feature(l2, f"{n}组第{g}片", gquad))
            pair = f"tj{n}p{(g - 1) // 3 + 1}"  # one A/B pair serves about three level-2 grids
            staff.add(pair + "a", ["grid_worker"], [l1], l2, "part_time_worker", "A")
            staff.add(pair + "b", ["grid_worker"], [l1], l2, "part_time_worker", "B")
            for _ in range(30):
                house += 1
                address = {"building": f"{n}组", "unit": "", "room": f"{house}号"}
                households.append(synthetic.household(rng, DEMO_DATE, COUNTY, l2, address))
        # the twelfth cell holds the village school as a dedicated level-2 grid
        school = f"{l1}-12"
        squad = split_quad(quad, 4, 3)[11]
        if n == 2:
            features.append(_feature(school, "滕泾小学", squad, "dedicated", "school"))
            staff.add("tjschool_a", ["grid_worker"], [school], school, "part_time_worker", "A")
            staff.add("tjschool_b", ["grid_worker"], [school], school, "part_time_worker", "B")
            places.append(
                {
                    "grid_code": school,
                    "kind": "school",
                    "name": "海盐县通元镇滕泾小学",
                    "location": _centre(squad),
                    "contact": {
                        "person": synthetic.person_name(rng),
                        "phone": synthetic.mobile(rng),
                    },
                }
            )
        places.append(
            {
                "grid_code": f"{l1}-01",
                "kind": "enterprise",
                "name": f"滕泾{n}组农机合作社",
                "location": _centre(split_quad(quad, 4, 3)[0]),
                "contact": {"person": synthetic.person_name(rng), "phone": synthetic.mobile(rng)},
            }
        )
    return {
        "divisions": [dict(d) for d in DIVISIONS],
        "grids": {"type": "FeatureCollection", "features": features},
        "households": households,
        "places": places,
        "staff": staff.entries,
        "reserve": reserve,
        "party_units": party,
    }


def _level1_staff(staff: _Staff, l1: str, village: str, n: int) -> None:
    """Leader, one full-time worker per 100 households, instructor and hotline worker."""
    if l1 == f"{HAIXING}-001":
        staff.add("leader01", ["grid_leader"], [l1], l1, "grid_leader")
        staff.add("worker01", ["grid_worker"], [l1], l1, "full_time_worker")
        staff.add("instructor01", ["instructor"], [HAIXING], l1, "instructor")
        full_time = [f"g{n}ft{i}" for i in range(2, 5)]
    else:
        staff.add(f"g{n}leader", ["grid_leader"], [l1], l1, "grid_leader")
        full_time = [f"g{n}ft{i}" for i in range(1, 5)]
        staff.add(
            "instructor01" if village == HAIXING else "tj_instructor",
            ["instructor"],
            [village],
            l1,
            "instructor",
        )
    for username in full_time:
        staff.add(username, ["grid_worker"], [l1], l1, "full_time_worker")
    staff.add(f"{village[-3:]}hotline", ["grid_worker"], [village], l1, "hotline_worker")


def _reserve(reserve: list[dict], l1: str, rng: random.Random) -> None:
    for kind in ("party_member", "veteran", "volunteer", "doctor", "police"):
        reserve.append(
            {
                "grid_code": l1,
                "kind": kind,
                "name": synthetic.person_name(rng),
                "phone": synthetic.mobile(rng),
            }
        )


def fixed_accounts() -> list[str]:
    return ["leader01", "worker01", "worker02", "instructor01"]
