"""One broker consumer per stream process, fanning notify's live events out to open streams.

The notify service records `messages_created`, `messages_read` and `digest_ready` through
its outbox (in the transaction that stored the messages). This process follows them on one
exclusive, auto-deleted queue bound to notify's event exchange, and hands each item to the
queues of the streams open for its user. Nothing here is the source of truth: a stream that
missed something (it was not open, this process reconnected to the broker) asks the inbox
for everything after the last number it sent, so the queue may be lossy.

It also reports what reached an open app: every message written to a stream becomes a
receipt, and once a second the receipts go to the bus as one `messages_delivered` event
(producer "gateway"), which notify keeps in the delivery log (and which spares an SMS).

Runs on plain threads: under the gevent worker they are greenlets (gunicorn's gevent worker
patches the standard library before the app loads), so 200 streams cost 200 small stacks
and one broker connection, not 200 threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timezone

from kombu import Connection, Queue, binding
from nameko.events import get_event_exchange

from contracts.events import envelope
from contracts.notify import (
    DIGEST_READY,
    LIVE_EVENTS,
    MESSAGES_CREATED,
    MESSAGES_DELIVERED,
    MESSAGES_READ,
)

log = logging.getLogger("gateway.livestream")
CHECK = ("check", None)  # look at the session again (an identity announcement arrived)
RESYNC = ("resync", None)  # the live feed was interrupted: replay from the inbox
QUEUE_SIZE = 500  # a stream this far behind is closed; the app reconnects and resumes


class Subscriber:
    def __init__(self, user_id: str):
        self.user_id = user_id
        self.queue: queue.Queue = queue.Queue(QUEUE_SIZE)
        self.overflowed = False

    def put(self, item: tuple) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> tuple | None:
        try:
            return self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None


class LiveHub:
    def __init__(self, amqp_uri: str, news: Callable[[], int] | None = None, heartbeat: int = 10):
        self.amqp_uri = amqp_uri
        self.news = news  # the identity feed's mark(): changes when a session may have ended
        self.heartbeat = heartbeat
        self.process = f"{socket.gethostname()}:{os.getpid()}"
        self._subs: dict[str, set[Subscriber]] = defaultdict(set)
        self._lock = threading.Lock()
        self._receipts: list[dict] = []
        self._healthy = threading.Event()
        self._stopping = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()
        self.connections = 0  # how many times the feed (re)connected

    # --- streams ------------------------------------------------------------------------------
    def subscribe(self, user_id: str) -> Subscriber:
        self.start()
        sub = Subscriber(user_id)
        with self._lock:
            self._subs[user_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            mine = self._subs.get(sub.user_id)
            if mine is not None:
                mine.discard(sub)
                if not mine:
                    del self._subs[sub.user_id]

    def open_streams(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())

    def delivered(self, message_id: str, user_id: str) -> None:
        at = datetime.now(timezone.utc).isoformat()
        with self._lock:
            self._receipts.append({"message_id": message_id, "user_id": user_id, "at": at})

    def wait_healthy(self, timeout: float) -> bool:
        self.start()
        return self._healthy.wait(timeout)

    # --- fan-out ------------------------------------------------------------------------------
    def _to(self, user_id: str, item: tuple) -> None:
        with self._lock:
            targets = list(self._subs.get(user_id, ()))
        for sub in targets:
            sub.put(item)

    def _everyone(self, item: tuple) -> None:
        with self._lock:
            targets = [s for subs in self._subs.values() for s in subs]
        for sub in targets:
            sub.put(item)

    def dispatch(self, body: dict) -> None:
        """One live event from notify, to the streams of the users it names."""
        kind = body.get("type") if isinstance(body, dict) else None
        payload = body.get("payload") or {} if isinstance(body, dict) else {}
        if kind == MESSAGES_CREATED:
            for message in payload.get("messages", []):
                self._to(message["user_id"], ("message", message))
        elif kind == MESSAGES_READ:
            self._to(payload["user_id"], ("read", payload))
        elif kind == DIGEST_READY:
            for digest in payload.get("digests", []):
                self._to(digest["user_id"], ("digest", digest))

    # --- the threads ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            self._started = True
            for target, name in (
                (self._follow_forever, "live-feed"),
                (self._report_forever, "live-receipts"),
                (self._watch_sessions, "live-sessions"),
            ):
                threading.Thread(target=target, name=name, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()

    def _follow_forever(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._follow()
                delay = 0.5
            except Exception as exc:  # broker gone: streams stay open, and resync after
                log.warning("live feed interrupted (%s); retrying in %.1f s", exc, delay)
            finally:
                self._healthy.clear()
            self._stopping.wait(delay)
            delay = min(delay * 2, 15.0)

    def _follow(self) -> None:
        exchange = get_event_exchange("notify", {})
        feed = Queue(
            f"gateway-live-{uuid.uuid4().hex}",
            bindings=[binding(exchange, routing_key=k) for k in LIVE_EVENTS],
            exclusive=True,
            auto_delete=True,
            durable=False,
        )
        with Connection(self.amqp_uri, heartbeat=self.heartbeat, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
            with conn.Consumer(
                feed, callbacks=[lambda body, _m: self.dispatch(body)], accept=["json"], no_ack=True
            ):
                self.connections += 1
                self._healthy.set()
                if self.connections > 1:  # events may have gone by while we were away
                    self._everyone(RESYNC)
                log.info("live feed following notify (%d streams open)", self.open_streams())
                while not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError, socket.timeout):
                        conn.drain_events(timeout=1)
                    conn.heartbeat_check()

    def _report_forever(self) -> None:
        exchange = get_event_exchange("gateway", {})  # where notify's handler listens
        while not self._stopping.is_set():
            self._stopping.wait(1.0)
            with self._lock:
                receipts, self._receipts = self._receipts, []
            if not receipts:
                continue
            try:
                with Connection(self.amqp_uri, connect_timeout=5) as conn:
                    producer = conn.Producer(serializer="json")
                    for i in range(0, len(receipts), 1000):
                        event = envelope(
                            MESSAGES_DELIVERED,
                            {"receipts": receipts[i : i + 1000], "process": self.process},
                            producer="gateway",
                        )
                        producer.publish(
                            event,
                            exchange=exchange,
                            routing_key=MESSAGES_DELIVERED,
                            declare=[exchange],
                            delivery_mode=2,
                            retry=True,
                            retry_policy={"max_retries": 3},
                        )
            except Exception as exc:  # the log loses a "delivered"; the message is safe
                log.warning("could not report %d deliveries: %s", len(receipts), exc)

    def _watch_sessions(self) -> None:
        """When identity announces something, every stream looks at its session again."""
        if self.news is None:
            return
        last = self.news()
        while not self._stopping.is_set():
            time.sleep(0.25)
            now = self.news()
            if now != last:
                last = now
                self._everyone(CHECK)
