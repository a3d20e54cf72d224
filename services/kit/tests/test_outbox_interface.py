"""The outbox and the idempotent consumer against the real broker and database.

The crash test kills a real relay process with os._exit between publishing an event and
marking it sent; the next relay publishes it again and the consumer still applies it once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nameko.events import event_handler
from pymongo import MongoClient

from contracts.errors import IdempotencyConflict
from services.kit import settings
from services.kit.commands import Commands
from services.kit.inbox import Inbox
from services.kit.mongo import MongoProvider, connect, in_transaction
from services.kit.outbox import OutboxRelay, OutboxWriter, amqp_publisher

pytestmark = pytest.mark.interface
ROOT = Path(__file__).resolve().parents[3]
PRODUCER = "kittest"

CRASHING_RELAY = """
import os, sys
from pymongo import MongoClient
from services.kit.outbox import OutboxRelay, amqp_publisher

class DiesAfterPublish(OutboxRelay):
    def after_publish(self, entry):
        os._exit(9)  # the process dies here: published, never marked

db = MongoClient(sys.argv[1], tz_aware=True)[sys.argv[2]]
DiesAfterPublish(db, amqp_publisher(sys.argv[3], "kittest")).run_once()
"""


class TallyStore:
    """What the consumer keeps: deliveries seen (outside the guard) and applications."""

    def __init__(self, client: MongoClient, db):
        self.inbox = Inbox(client, db, consumer="tally")
        self.tally = db["tally"]


class TallyStorage(MongoProvider):
    def __init__(self, **kwargs):
        super().__init__("tally", **kwargs)

    def wrap(self, client, db):
        return TallyStore(client, db)


class TallyService:
    name = "tally"
    store = TallyStorage()

    @event_handler(PRODUCER, "thing_happened")
    def on_thing(self, event):
        self.store.tally.update_one({"_id": "deliveries"}, {"$inc": {"n": 1}}, upsert=True)
        self.store.inbox.once(
            event,
            lambda s: self.store.tally.update_one(
                {"_id": "applied"}, {"$inc": {"n": event["payload"]["n"]}}, upsert=True, session=s
            ),
        )


def _count(db, key: str) -> int:
    doc = db["tally"].find_one({"_id": key})
    return doc["n"] if doc else 0


def _wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_event_survives_a_relay_crash_and_is_applied_once(container_factory, service_config):
    consumer = container_factory(TallyService, service_config)
    consumer.start()  # declares the handler's queue before anything is published
    client = connect(service_config["MONGO_URL"])
    producer_db = client[settings.db_name(PRODUCER, service_config)]
    tally_db = client[settings.db_name("tally", service_config)]
    writer = OutboxWriter(producer_db, PRODUCER)

    def change(session):
        producer_db["things"].insert_one({"_id": "t1", "state": "done"}, session=session)
        return writer.record(session, "thing_happened", {"n": 5})

    event = in_transaction(client, change)

    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_RELAY,
            service_config["MONGO_URL"],
            producer_db.name,
            service_config["AMQP_URI"],
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
    )
    assert crashed.returncode == 9, crashed.stderr.decode()
    _wait_for(lambda: _count(tally_db, "deliveries") == 1)
    assert producer_db["outbox"].find_one({"_id": event["id"]})["sent_at"] is None

    relay = OutboxRelay(producer_db, amqp_publisher(service_config["AMQP_URI"], PRODUCER))
    assert relay.run_once() == 1  # published again: it was never marked
    _wait_for(lambda: _count(tally_db, "deliveries") == 2)
    assert _count(tally_db, "applied") == 5  # applied once
    assert producer_db["outbox"].find_one({"_id": event["id"]})["sent_at"] is not None
    assert relay.run_once() == 0


def test_an_aborted_change_leaves_no_event(service_config):
    client = connect(service_config["MONGO_URL"])
    db = client[settings.db_name(PRODUCER, service_config)]
    writer = OutboxWriter(db, PRODUCER)

    def change(session):
        db["things"].insert_one({"_id": "t2"}, session=session)
        writer.record(session, "thing_happened", {"n": 1})
        raise RuntimeError("validation failed after the write")

    with pytest.raises(RuntimeError):
        in_transaction(client, change)
    assert db["things"].count_documents({}) == 0
    assert db["outbox"].count_documents({}) == 0


def test_commands_run_once_per_client_id(service_config):
    client = connect(service_config["MONGO_URL"])
    db = client[settings.db_name("cmdtest", service_config)]
    commands = Commands(client, db)
    runs = []

    def execute(session):
        runs.append(1)
        db["visits"].insert_one({"n": len(runs)}, session=session)
        return {"visit": len(runs)}

    body = {"household": "h1", "kind": "routine"}
    assert commands.run("visit", "c-1", body, execute) == {"visit": 1}
    assert commands.run("visit", "c-1", dict(body), execute) == {"visit": 1}
    assert len(runs) == 1 and db["visits"].count_documents({}) == 1
    with pytest.raises(IdempotencyConflict):
        commands.run("visit", "c-1", {**body, "kind": "care"}, execute)
    assert commands.run("visit", "c-2", body, execute) == {"visit": 2}
