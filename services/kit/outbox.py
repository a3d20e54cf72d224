"""Transactional outbox: an event is written in the same transaction as the change it
reports, and a relay publishes it afterwards and marks it sent.

If the relay dies between publishing and marking, the event is published again on the next
pass: delivery is at least once, and consumers apply each event id once (see inbox.py).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import eventlet
from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from nameko.events import get_event_exchange
from nameko.extensions import DependencyProvider
from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from contracts.events import envelope, payload_problems
from services.kit import settings
from services.kit.mongo import connect

log = logging.getLogger(__name__)

COLLECTION = "outbox"
BATCH = 1000  # insert_many chunk


class EventDrift(AssertionError):
    """A payload that does not fit its contract schema (raised only when checking is on)."""


def checking_events() -> bool:
    """Tests set LIANXIN_CHECK_EVENTS=1: every recorded payload is validated against its
    schema in contracts, so a payload that drifts from its contract fails a test."""
    return os.environ.get("LIANXIN_CHECK_EVENTS") == "1"


class OutboxWriter:
    """Records events inside the caller's transaction."""

    def __init__(self, db: Database, producer: str, wake: Callable[[], None] = lambda: None):
        self.collection = db[COLLECTION]
        self.producer = producer
        self._wake = wake
        self.check = checking_events()

    def record(
        self, session: ClientSession, event_type: str, payload: dict, version: int = 1
    ) -> dict:
        return self.record_many(session, event_type, [payload], version)[0]

    def record_many(
        self,
        session: ClientSession,
        event_type: str,
        payloads: Iterable[dict],
        version: int = 1,
    ) -> list[dict]:
        """Record one event per payload in one bulk write (imports, announcements)."""
        events = []
        for payload in payloads:
            if self.check:
                problems = payload_problems(event_type, payload)
                if problems:
                    raise EventDrift(f"{event_type} payload does not fit its schema: {problems}")
            events.append(envelope(event_type, payload, producer=self.producer, version=version))
        if not events:
            return []
        now = _utcnow()
        # `n` keeps a bulk write's events in their order: they share one created_at
        docs = [
            {"_id": e["id"], "event": e, "created_at": now, "n": n, "sent_at": None}
            for n, e in enumerate(events)
        ]
        for i in range(0, len(docs), BATCH):
            self.collection.insert_many(docs[i : i + BATCH], ordered=True, session=session)
        return events

    def wake(self) -> None:
        """Ask the relay to publish now rather than at its next poll (call after commit)."""
        self._wake()


class OutboxRelay:
    """Publishes unsent outbox entries in the order they were written, then marks them."""

    def __init__(self, db: Database, publish: Callable[[dict], None], batch: int = 100):
        self.collection = db[COLLECTION]
        self.publish = publish
        self.batch = batch

    def prepare(self) -> None:
        self.collection.create_index(
            [("sent_at", ASCENDING), ("created_at", ASCENDING), ("n", ASCENDING)]
        )

    def run_once(self) -> int:
        sent = 0
        pending = self.collection.find({"sent_at": None}).sort(
            [("created_at", ASCENDING), ("n", ASCENDING)]
        )
        for entry in pending.limit(self.batch):
            self.publish(entry["event"])
            self.after_publish(entry)
            self.collection.update_one({"_id": entry["_id"]}, {"$set": {"sent_at": _utcnow()}})
            sent += 1
        return sent

    def after_publish(self, entry: dict) -> None:
        """Hook between publish and mark; the crash tests kill the process here."""


def amqp_publisher(amqp_uri: str, producer: str) -> Callable[[dict], None]:
    """Publish an envelope where nameko `@event_handler(producer, type)` listens."""
    exchange: Exchange = get_event_exchange(producer, {})
    publisher = Publisher(amqp_uri, serializer="json", use_confirms=True, delivery_mode=PERSISTENT)

    def publish(event: dict) -> None:
        publisher.publish(
            event,
            exchange=exchange,
            routing_key=event["type"],
            message_id=event["id"],
            declare=[exchange],
        )

    return publish


class Outbox(DependencyProvider):
    """Gives workers an OutboxWriter and runs the relay in the service's own process."""

    def __init__(self, service_name: str, poll_seconds: float = 0.5, **kwargs: Any):
        self.service_name = service_name
        self.poll_seconds = poll_seconds
        super().__init__(**kwargs)

    def setup(self):
        config = self.container.config
        self.client = connect(config.get("MONGO_URL") or settings.mongo_url())
        db = self.client[settings.db_name(self.service_name, config)]
        self.relay = OutboxRelay(
            db, amqp_publisher(config.get("AMQP_URI") or settings.amqp_uri(), self.service_name)
        )
        self.relay.prepare()
        self._wakeup = eventlet.event.Event()
        self.writer = OutboxWriter(db, self.service_name, wake=self._signal)
        self._running = True

    def start(self):
        self._thread = self.container.spawn_managed_thread(self._loop, identifier="outbox-relay")

    def _signal(self):
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def _loop(self):
        while self._running:
            try:
                self.relay.run_once()
            except Exception:  # the broker or database hiccuped: try again next pass
                log.exception("outbox relay pass failed; retrying")
            with eventlet.Timeout(self.poll_seconds, False):
                self._wakeup.wait()
            self._wakeup = eventlet.event.Event()

    def stop(self):
        self._running = False
        self._signal()
        with eventlet.Timeout(5, False):  # let a pass in flight finish, then the loop ends
            self._thread.wait()

    def kill(self):
        self._running = False

    def get_dependency(self, _worker_ctx):
        return self.writer


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)
