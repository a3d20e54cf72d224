"""The consumer kit against the real broker and database: an event is applied once, a
handler that keeps failing leaves a dead letter (after bounded tries) that replays, a
malformed payload is kept at once rather than retried, and an event whose handler dies with
its process every time is kept after a bounded number of deliveries."""

from __future__ import annotations

import time

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook

from contracts.caller import Caller
from contracts.cases import CASE_CLOSED
from contracts.errors import Forbidden
from services.kit import settings
from services.kit.consumer import DeadLetterMixin, EventInbox, consumes
from services.kit.mongo import connect
from services.kit.outbox import EventDrift, OutboxRelay, OutboxWriter, amqp_publisher

pytestmark = pytest.mark.interface
PRODUCER = "cases"


def case_payload(n: int, **extra) -> dict:
    return {
        "case_id": f"c{n}",
        "number": f"AJ{n}",
        "title": "路灯不亮",
        "category": "street_light",
        "category_group": "public_facilities",
        "grid_code": "330424001001-001",
        "state": "closed",
        "action": "close",
        "actor": "u-9",
        "at": "2026-11-23T02:00:00+00:00",
        "source": "resident",
        "level": "grid",
        **extra,
    }


class Flaky:
    """Fails the first `fail` tries of each case, per test; counts what it applied."""

    fail = 0
    tries: dict[str, int] = {}


class TallyService(DeadLetterMixin):
    name = "tallykit"
    inbox = EventInbox("tallykit", attempts=3, backoff=0.01)

    @consumes(PRODUCER, CASE_CLOSED)
    def on_closed(self, event, session):
        case = event["payload"]["case_id"]
        Flaky.tries[case] = Flaky.tries.get(case, 0) + 1
        if Flaky.tries[case] <= Flaky.fail:
            raise RuntimeError(f"boom {Flaky.tries[case]}")
        self.inbox.inbox.collection.database["tally"].update_one(
            {"_id": "closed"}, {"$inc": {"n": 1}}, upsert=True, session=session
        )


class Dying:
    """Every run of this handler hangs until the test kills its container, as a process
    killed mid-handler (kill -9, out of memory) never acks its message."""

    hang = True
    runs = 0


class DyingService(DeadLetterMixin):
    name = "dyingkit"
    inbox = EventInbox("dyingkit", attempts=3, backoff=0.01, max_deliveries=3)

    @consumes(PRODUCER, CASE_CLOSED)
    def on_closed(self, event, session):
        Dying.runs += 1
        while Dying.hang:
            eventlet.sleep(0.05)
        self.inbox.inbox.collection.database["tally"].insert_one({"_id": event["id"]})


def _wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def _publisher(service_config):
    """Record case events in the producer's outbox and relay them to the real broker."""
    client = connect(service_config["MONGO_URL"])
    producer_db = client[settings.db_name(PRODUCER, service_config)]
    relay = OutboxRelay(producer_db, amqp_publisher(service_config["AMQP_URI"], PRODUCER))
    writer = OutboxWriter(producer_db, PRODUCER)

    def publish(*payloads):
        with client.start_session() as session:
            writer.record_many(session, CASE_CLOSED, payloads)
        relay.run_once()

    return publish


@pytest.fixture
def consumer(container_factory, service_config):
    Flaky.fail, Flaky.tries = 0, {}
    container = container_factory(TallyService, service_config)
    container.start()
    db = connect(service_config["MONGO_URL"])[settings.db_name("tallykit", service_config)]
    return container, db, _publisher(service_config)


def _applied(db) -> int:
    doc = db["tally"].find_one({"_id": "closed"})
    return doc["n"] if doc else 0


def test_bulk_events_arrive_in_order_and_apply_once(consumer):
    container, db, publish = consumer
    publish(*(case_payload(i) for i in range(5)))
    _wait_for(lambda: _applied(db) == 5)
    # the same event again (a redelivery) changes nothing
    event = db.client[db.name.replace("tallykit", PRODUCER)]["outbox"].find_one({"n": 0})
    with entrypoint_hook(container, "on_closed") as handle:
        assert handle(event["event"]) == "repeat"
        # the broker redelivers it (the ack was lost): counted, found applied, the count gone
        assert handle(event["event"], redelivered=True) == "repeat"
    assert _applied(db) == 5
    assert db["redeliveries"].count_documents({}) == 0  # first deliveries wrote no count


def test_a_failing_handler_is_retried_then_kept_and_replays(consumer):
    container, db, publish = consumer
    Flaky.fail = 10  # fails every try
    publish(case_payload(1))
    _wait_for(lambda: db["dead_letters"].count_documents({"state": "dead"}) == 1)
    letter = db["dead_letters"].find_one()
    assert letter["attempts"] == 3 and "boom 3" in letter["error"]
    assert Flaky.tries["c1"] == 3 and _applied(db) == 0  # bounded: no endless loop

    operator = Caller("op-1", ("operator",), ())
    with entrypoint_hook(container, "dead_letters") as listing:
        assert [d["id"] for d in listing(caller=operator)] == [letter["_id"]]
        with pytest.raises(Forbidden):
            listing(caller=Caller("w-1", ("grid_worker",), ("3304",)))
    Flaky.fail = 0  # the bug is fixed
    with entrypoint_hook(container, "replay_dead_letter") as replay:
        assert replay(letter["_id"], caller=operator)["outcome"] == "applied"
    assert _applied(db) == 1
    assert db["dead_letters"].find_one()["state"] == "replayed"


def test_a_malformed_payload_is_kept_at_once(consumer):
    container, db, _ = consumer
    bad = {"id": "e-bad", "type": CASE_CLOSED, "producer": PRODUCER, "payload": {"x": 1}}
    with entrypoint_hook(container, "on_closed") as handle:
        assert handle(bad) == "dead_letter"
    letter = db["dead_letters"].find_one({"_id": "on_closed:e-bad"})
    assert letter["attempts"] == 1 and "schema" in letter["error"]
    assert Flaky.tries == {}  # the handler never ran


def test_a_drifting_payload_fails_when_checking(service_config):
    client = connect(service_config["MONGO_URL"])
    writer = OutboxWriter(client[settings.db_name(PRODUCER, service_config)], PRODUCER)
    assert writer.check  # the tests turn checking on
    with client.start_session() as session, pytest.raises(EventDrift):
        writer.record(session, CASE_CLOSED, {"case_id": "c1"})


def test_an_event_whose_handler_dies_every_time_is_kept_after_bounded_deliveries(
    container_factory, service_config
):
    Dying.hang, Dying.runs = True, 0
    db = connect(service_config["MONGO_URL"])[settings.db_name("dyingkit", service_config)]
    publish = _publisher(service_config)
    for delivery in (1, 2, 3):
        container = container_factory(DyingService, service_config)
        container.start()  # declares the queue, so the event published next waits in it
        if delivery == 1:
            publish(case_payload(7))
        _wait_for(lambda: Dying.runs == delivery)  # noqa: B023 - checked before the loop moves
        # the process dies mid-handler: unacked, the broker hands the message out again
        container.kill()
        if delivery > 1:
            assert db["redeliveries"].find_one()["interrupted"] == delivery - 1
    survivor = container_factory(DyingService, service_config)
    survivor.start()
    _wait_for(lambda: db["dead_letters"].count_documents({"state": "dead"}) == 1)
    letter = db["dead_letters"].find_one()
    assert letter["error"] == "InterruptedDeliveries: interrupted 3 deliveries"
    assert letter["attempts"] == 3 and letter["handler"] == "on_closed"
    assert Dying.runs == 3  # the fourth delivery did not run the handler
    assert db["redeliveries"].count_documents({}) == 0 and db["tally"].count_documents({}) == 0

    Dying.hang = False  # the cause is found and fixed: the operator replays it
    operator = Caller("op-1", ("operator",), ())
    with entrypoint_hook(survivor, "replay_dead_letter") as replay:
        assert replay(letter["_id"], caller=operator)["outcome"] == "applied"
    assert db["tally"].count_documents({}) == 1 and Dying.runs == 4
