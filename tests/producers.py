"""Publishing events as their services do, for the tests and benchmarks of consumers: through
the kit's outbox writer and relay (so the payload is checked against its contract schema and
goes out as a persistent, confirmed nameko event of that producer), or a case event straight
onto the bus as the cases service's relay publishes it; and a consuming service under test
(`ConsumingService`: call its entrypoints, publish to it, wait until it handled n events)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from nameko.testing.services import entrypoint_hook

from contracts.cases import CASE_DISPATCHED, CaseEvent
from contracts.events import envelope
from services.kit import settings
from services.kit.clock import ClockProvider
from services.kit.mongo import connect
from services.kit.outbox import OutboxRelay, OutboxWriter, amqp_publisher


class Producers:
    """`publish("grid", VISIT_LOGGED, payload, …)`: recorded in that producer's outbox (in
    the test's own databases) and relayed at once; answers the envelopes."""

    def __init__(self, config: dict):
        self.config = config
        self.client = connect(config["MONGO_URL"])
        self._producers: dict = {}

    def publish(self, producer: str, event_type: str, *payloads) -> list[dict]:
        if producer not in self._producers:
            db = self.client[settings.db_name(producer, self.config)]
            self._producers[producer] = (
                OutboxWriter(db, producer),
                OutboxRelay(db, amqp_publisher(self.config["AMQP_URI"], producer)),
            )
        writer, relay = self._producers[producer]
        with self.client.start_session() as session:
            events = writer.record_many(session, event_type, payloads)
        while relay.run_once():
            pass
        return events


def wait_for(check, timeout: float = 20.0):
    """`check()`'s first truthy answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class ConsumingService:
    """A running service container: its database, its clock, its entrypoints, and events
    published to it as their producers publish them."""

    def __init__(self, container, config: dict, service: str):
        self.container = container
        self.config = config
        self.client = connect(config["MONGO_URL"])
        self.db = self.client[settings.db_name(service, config)]
        self.producers = Producers(config)
        self.clock = next(d for d in container.extensions if isinstance(d, ClockProvider)).clock

    def call(self, method, *args, **kwargs):
        with entrypoint_hook(self.container, method) as hook:
            return hook(*args, **kwargs)

    def publish(self, producer: str, event_type: str, *payloads) -> list[dict]:
        return self.producers.publish(producer, event_type, *payloads)

    def handled(self, n: int) -> None:
        """Wait until the service applied `n` events (its inbox marks)."""
        wait_for(lambda: self.db["processed_events"].count_documents({}) >= n)


def dispatched(user_id: str, number: str, grid_code: str, title: str = "楼道堆放杂物") -> dict:
    """A `case_dispatched` payload (contracts/cases.py) for a case sent to `user_id`."""
    now = datetime.now(timezone.utc)
    return CaseEvent().dump(
        {
            "case_id": uuid.uuid4().hex,
            "number": number,
            "title": title,
            "category": "corridor_clutter",
            "category_group": "safety_hazards",
            "grid_code": grid_code,
            "state": "dispatched",
            "from_state": "registered",
            "action": "dispatch",
            "actor": "service:cases",
            "at": now.isoformat(),
            "source": "resident",
            "handler_id": user_id,
            "level": "grid",
            "deadline": (now + timedelta(hours=4)).isoformat(),
        }
    )


def case_publisher(amqp_uri: str):
    """Publish case_dispatched payloads as the cases service's outbox relay does."""
    publish = amqp_publisher(amqp_uri, "cases")
    return lambda payload: publish(envelope(CASE_DISPATCHED, payload, producer="cases"))
