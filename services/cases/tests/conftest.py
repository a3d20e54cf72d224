"""A running cases service beside a real grid service (its small village, posts and a
household), against the real broker and database; and a camera's photo with EXIF."""

from __future__ import annotations

import base64
import io
import time

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from PIL import Image

from contracts.caller import Caller
from services.cases.service import CasesService
from services.grid.service import GridService
from services.grid.synthetic import quad_geojson
from services.kit import settings
from services.kit.clock import ClockProvider
from services.kit.mongo import connect
from services.kit.sealing import Keyring

VILLAGE = "330424001001"
L1 = f"{VILLAGE}-001"
L2 = f"{L1}-01"
L3 = f"{L2}-01"
ADMIN = Caller("u-county", ("county_admin",), ("330424",))
RESIDENT = Caller("u-res", ("resident",), (VILLAGE,))
WORKER_A = Caller("u-a", ("grid_worker",), (L2,))  # A post of building 1
WORKER_B = Caller("u-b", ("grid_worker",), (L2,))
LEADER = Caller("u-leader", ("grid_leader",), (VILLAGE,))
COMMUNITY_1 = Caller("u-c1", ("community_admin",), (VILLAGE,))
COMMUNITY_2 = Caller("u-c2", ("community_admin",), (VILLAGE,))
OUTSIDER = Caller("u-out", ("grid_leader",), ("330424104201",))
IN_L3 = {"lon": 120.9405, "lat": 30.5205}  # inside the unit (level 3) of building 1


def box(w, s, e, n):
    return quad_geojson([(w, s), (e, s), (e, n), (w, n)])


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def photo_b64(size=(2400, 1200), exif: bool = True, fmt: str = "JPEG") -> str:
    """A camera-like picture: big, with EXIF (GPS position, camera make) when asked."""
    image = Image.new("RGB", size, (30, 120, 200))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x0110] = "Model X"  # Model
        tags[0x8825] = {1: "N", 2: (30.0, 31.0, 12.0), 3: "E", 4: (120.0, 56.0, 30.0)}  # GPS
        image.save(out, fmt, exif=tags)
    else:
        image.save(out, fmt)
    return base64.b64encode(out.getvalue()).decode()


class World:
    def __init__(self, config, cases_containers):
        self.config = config
        self.containers = cases_containers
        self.client = connect(config["MONGO_URL"])
        self.db = self.client[settings.db_name("cases", config)]
        self._proxy = ClusterRpcProxy(config, timeout=30)
        rpc = self._proxy.start()
        self.cases = rpc.cases
        self.grid = rpc.grid

    def concurrently(self, *calls):
        """Run `call(cases_proxy)` for each at once, each with a proxy of its own (a
        standalone proxy serves one green thread at a time); the answers or errors."""
        results: list = [None] * len(calls)

        def run(i, call):
            with ClusterRpcProxy(self.config, timeout=30) as rpc:
                try:
                    results[i] = call(rpc.cases)
                except Exception as exc:  # the error is the answer being checked
                    results[i] = exc

        pool = eventlet.GreenPool()
        for i, call in enumerate(calls):
            pool.spawn(run, i, call)
        pool.waitall()
        return results

    def clocks(self):
        return [
            next(d for d in c.extensions if isinstance(d, ClockProvider)).clock
            for c in self.containers
        ]

    def report(self, who=RESIDENT, client_id="report-0001", **data):
        body = {"category": "neighbour_dispute", "description": "楼上噪音和漏水", "location": IN_L3}
        return self.cases.report({**body, **data}, client_id, caller=who)

    def state(self, case_id, who=ADMIN):
        return self.cases.get_case(case_id, caller=who)

    def wait_state(self, case_id, state, who=ADMIN):
        return wait_for(lambda: (c := self.state(case_id, who))["state"] == state and c)

    def events(self, event_type):
        return [d["event"] for d in self.db["outbox"].find({"event.type": event_type}).sort("n", 1)]

    def close(self):
        self._proxy.stop()


@pytest.fixture
def world_config(service_config):
    return {
        **service_config,
        "GRID_DATA_KEYS": Keyring.generate("k-grid").spec(),
        "CASES_DATA_KEYS": Keyring.generate("k-cases").spec(),
    }


def _village(grid) -> None:
    grid.put_divisions(
        [
            {"code": "330424", "name": "海盐县"},
            {"code": "330424001", "name": "武原街道"},
            {"code": VILLAGE, "name": "海兴社区"},
        ],
        caller=ADMIN,
    )
    for code, name, shape, cid in (
        (L1, "一网格", box(120.94, 30.52, 120.943, 30.523), "g1"),
        (L2, "1幢", box(120.94, 30.52, 120.9415, 30.523), "g2"),
        (L3, "1幢1单元", box(120.94, 30.52, 120.9415, 30.521), "g3"),
    ):
        grid.create_grid({"code": code, "name": name, "boundary": shape}, cid, caller=ADMIN)
    for post in (
        {"grid_code": L1, "user_id": "u-leader", "post": "grid_leader", "display_name": "王建国"},
        {
            "grid_code": L2,
            "user_id": "u-a",
            "post": "full_time_worker",
            "ab": "A",
            "display_name": "李明",
        },
        {
            "grid_code": L2,
            "user_id": "u-b",
            "post": "part_time_worker",
            "ab": "B",
            "display_name": "赵丽",
        },
    ):
        grid.assign_post(post, caller=ADMIN)


@pytest.fixture
def make_world(container_factory, world_config):
    made = []

    def make(instances: int = 1) -> World:
        grid = container_factory(GridService, world_config)
        grid.start()
        cases = [container_factory(CasesService, world_config) for _ in range(instances)]
        for c in cases:
            c.start()
        world = World(world_config, cases)
        made.append(world)
        _village(world.grid)
        return world

    yield make
    for world in made:
        world.close()


@pytest.fixture
def world(make_world) -> World:
    return make_world(1)
