"""A running points service against the real broker and database, and producers that
publish contract-shaped grid and cases events onto the broker through the kit's outbox
(so these tests do not depend on the grid or cases branches)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from contracts.caller import Caller
from services.points.service import PointsService
from tests.producers import ConsumingService, wait_for  # noqa: F401 (tests import wait_for here)

VILLAGE = "330424001001"
GRID = VILLAGE + "-001-01"
OPERATOR = Caller("op-1", ("community_admin",), (VILLAGE,))
TOWN_OPERATOR = Caller("op-town", ("town_admin",), (VILLAGE[:9],))


class Points(ConsumingService):
    def __init__(self, container, config):
        super().__init__(container, config, "points")

    def balance(self, account: str) -> int:
        doc = self.db["accounts"].find_one({"_id": account})
        return doc["balance"] if doc else 0

    def setup_village(self, fund: int = 1000, **rule) -> dict:
        self.call("top_up", VILLAGE, fund, "topup-0001", caller=OPERATOR)
        return self.rule(**rule)

    def rule(self, **kw) -> dict:
        data = {
            "name": "入户走访",
            "category": "livelihood",
            "trigger": "visit_logged",
            "points": 5,
            **kw,
        }
        return self.call("create_rule", kw.pop("code", VILLAGE), data, caller=OPERATOR)


@pytest.fixture
def points(container_factory, service_config):
    config = {**service_config, "POINTS_TOKEN_KEY": "interface-test-key"}
    container = container_factory(PointsService, config)
    container.start()
    return Points(container, config)


def visit(n: int, worker: str = "w1", at: datetime | None = None, grid: str = GRID) -> dict:
    return {
        "visit_id": f"v{n}",
        "household_id": f"h{n}",
        "grid_code": grid,
        "worker_user_id": worker,
        "kind": "routine",
        "occurred_at": (at or datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat(),
        "actor": worker,  # every grid event says who made the change
    }


def case(case_id: str, **extra) -> dict:
    return {
        "case_id": case_id,
        "number": f"AJ-{case_id}",
        "title": "邻里纠纷",
        "category": "neighbour_dispute",
        "category_group": "disputes",
        "grid_code": GRID,
        "state": "handled",
        "action": "handle",
        "actor": "w1",
        "at": (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat(),
        "source": "worker",
        "reporter_id": "w2",
        "reporter_role": "grid_worker",
        "handler_id": "w1",
        "level": "grid",
        **extra,
    }
