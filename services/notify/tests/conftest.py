"""A running notify service against the real broker and database, with stand-ins for the
grid and identity services it asks (peers.py), producers that publish contract-shaped
events onto the broker through the kit's outbox as the cases, points and grid services do,
and a listener on notify's live events (what the gateway's stream follows)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Connection, Queue
from nameko.events import get_event_exchange

from contracts.caller import Caller
from contracts.notify import LIVE_EVENTS
from services.notify.service import NotifyService
from services.notify.tests import peers
from tests.producers import ConsumingService, wait_for  # noqa: F401 (tests import wait_for here)


def user(uid: str, *roles: str, scopes=(peers.VILLAGE,)) -> Caller:
    return Caller(uid, roles or ("grid_worker",), scopes)


class Live:
    """Notify's live events, as a stream process receives them."""

    def __init__(self, amqp_uri: str):
        self.conn = Connection(amqp_uri)
        exchange = get_event_exchange("notify", {})
        self.queue = Queue(
            f"test-live-{uuid.uuid4().hex}",
            exchange=exchange,
            routing_key="#",
            auto_delete=True,
            exclusive=True,
        )
        self.queue = self.queue(self.conn.channel())
        self.queue.declare()
        for key in LIVE_EVENTS:
            self.queue.bind_to(exchange, routing_key=key)
        self.seen: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            message = self.queue.get(no_ack=True)
            if message is None:
                return self.seen
            self.seen.append(message.payload)

    def wait(self, event_type: str, n: int = 1, timeout: float = 15.0) -> list[dict]:
        return wait_for(
            lambda: (
                len(found := [e for e in self.drain() if e["type"] == event_type]) >= n and found
            ),
            timeout,
        )


class Notify(ConsumingService):
    def __init__(self, container, config):
        super().__init__(container, config, "notify")
        self.live = Live(config["AMQP_URI"])

    def inbox(self, uid: str, **kw) -> dict:
        return self.call("inbox", caller=user(uid), **kw)


@pytest.fixture
def notify(container_factory, service_config, tmp_path, monkeypatch):
    monkeypatch.setenv("LIANXIN_DATA", str(tmp_path))  # the VAPID key, the SMS log
    config = {
        **service_config,
        "NOTIFY_DIGEST_SECONDS": 30,
        "NOTIFY_SMS_GRACE_SECONDS": 30,
        "RPC_TIMEOUT": 5,
    }
    for cls in (peers.GridStandIn, peers.IdentityStandIn):
        container_factory(cls, config).start()
    container = container_factory(NotifyService, config)
    container.start()
    running = Notify(container, config)
    yield running
    running.live.conn.release()


def case(case_id: str, handler: str | None = "w1", **extra) -> dict:
    deadline = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 17:00 in Shanghai
    return {
        "case_id": case_id,
        "number": f"AJ2026112300{case_id[-2:]}",
        "title": "楼道堆放杂物",
        "category": "corridor_clutter",
        "category_group": "safety_hazards",
        "grid_code": peers.L2,
        "grid_name": "1幢",
        "state": "dispatched",
        "action": "dispatch",
        "actor": "op-1",
        "at": datetime.now(timezone.utc).isoformat(),
        "source": "resident",
        "reporter_id": "resident-1",
        "reporter_role": "resident",
        "handler_id": handler,
        "level": "grid",
        "deadline": (deadline + timedelta()).isoformat(),
        **extra,
    }
