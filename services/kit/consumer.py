"""Event consumers (DESIGN §3.2, §8): each event is applied once, in the same transaction
as the mark that says it was; a handler that keeps failing is retried a few times, then
kept as a dead letter that an operator can list and replay. Nothing is dropped silently
and nothing loops forever.

    class PointsService:
        name = "points"
        inbox = EventInbox("points")

        @consumes("grid", VISIT_LOGGED)
        def on_visit_logged(self, event, session):
            ...  # runs once per event id, inside the transaction that marks it handled

Why the pieces are as they are:
- nameko acks after the worker returns, so a killed worker's event comes again: the inbox
  mark (a unique key per handler and event id) turns the repeat into a no-op.
- nameko drops a message whose worker raised unless `requeue_on_error`; we requeue only
  when even the dead letter cannot be written (the database is down), after a pause, so
  an outage delays events and never loses them, and a poison message cannot loop.
- A payload that does not fit its contract schema is dead-lettered at once: retrying a
  malformed message cannot help.
- A message whose handler kills the process (kill -9, out of memory, a segfault) is never
  acked, so the broker hands it out again, forever. The broker marks such a message
  `redelivered`; we count those deliveries per handler and event (`redeliveries`), and
  after `max_deliveries` runs that never finished the event is dead-lettered without
  running the handler again ("interrupted N deliveries"). A first delivery writes nothing
  extra: only a redelivered message is counted.
"""

from __future__ import annotations

import functools
import logging
import os
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import eventlet
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from pymongo import DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession

from contracts.errors import Forbidden, NotFound
from contracts.events import payload_problems
from services.kit import settings
from services.kit.inbox import Inbox
from services.kit.mongo import connect

log = logging.getLogger(__name__)

DEAD_LETTERS = "dead_letters"
REDELIVERIES = "redeliveries"
APPLIED, REPEAT, DEAD = "applied", "repeat", "dead_letter"


class MalformedEvent(ValueError):
    """The event's payload does not fit its contract schema."""


class InterruptedDeliveries(RuntimeError):
    """The handler's process died (or hung and was killed) on every delivery of an event."""


def _pause_before_requeue(key: str) -> None:
    """The database is away: wait a little before the message goes back to the broker, so an
    outage delays events without spinning through them."""
    log.warning("database unavailable for %s; handing the message back", key)
    eventlet.sleep(float(os.environ.get("CONSUMER_REQUEUE_PAUSE", "2")))


class ConsumerInbox:
    """What a consuming service's workers get: `handle` an event, and the dead letters."""

    def __init__(
        self,
        client,
        db,
        service: str,
        attempts: int,
        backoff: float,
        max_deliveries: int = 3,
    ):
        self.client = client
        self.service = service
        self.inbox = Inbox(client, db, consumer=service)
        self.letters = db[DEAD_LETTERS]
        self.redeliveries = db[REDELIVERIES]
        self.attempts = attempts
        self.backoff = backoff
        self.max_deliveries = max(1, max_deliveries)

    def prepare(self) -> None:
        self.letters.create_index([("state", 1), ("last_failed_at", DESCENDING)])

    def handle(
        self,
        event: dict,
        handler: str,
        apply: Callable[[ClientSession], Any],
        redelivered: bool = False,
    ) -> str:
        """Apply once; retry a failure `attempts` times with back-off; then dead-letter it.

        `redelivered`: the broker delivers this message again because an earlier delivery
        was never acked (the process died in the handler); see `_interrupted`.
        """
        key = f"{handler}:{event.get('id')}"
        if not redelivered:
            return self._run(event, handler, key, apply)
        try:
            settled = self._interrupted(event, handler, key)
        except Exception:
            _pause_before_requeue(key)
            raise
        if settled:
            return settled
        outcome = self._run(event, handler, key, apply)
        # it ran to the end this time (not in a `finally`: a killed worker must keep its count)
        self.redeliveries.delete_one({"_id": key})
        return outcome

    def _run(self, event: dict, handler: str, key: str, apply) -> str:
        error: BaseException | None = None
        tries = 0
        while tries < self.attempts:
            tries += 1
            try:
                problems = payload_problems(str(event.get("type")), event.get("payload"))
                if problems or not event.get("id"):
                    raise MalformedEvent(f"payload does not fit its schema: {problems}")
                return APPLIED if self.inbox.once(event, apply, key=key) else REPEAT
            except MalformedEvent as exc:
                error = exc
                break
            except Exception as exc:  # a bug, a refused write, a database hiccup
                error = exc
                log.warning("%s failed on %s (try %d): %s", handler, key, tries, exc)
                if tries < self.attempts:
                    eventlet.sleep(self.backoff * 2 ** (tries - 1))
        self._dead_letter(event, handler, key, error, tries)
        return DEAD

    def _interrupted(self, event: dict, handler: str, key: str) -> str | None:
        """Count a redelivery (each one means an earlier delivery never finished). After
        `max_deliveries` such runs the event is dead-lettered, not run again: REPEAT if a
        run did commit and only its ack was lost, DEAD otherwise; None: run it."""
        counted = self.redeliveries.find_one_and_update(
            {"_id": key},
            {"$inc": {"interrupted": 1}, "$set": {"last_at": datetime.now(timezone.utc)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        interrupted = int(counted["interrupted"])
        log.warning("%s delivered again (%d interrupted deliveries)", key, interrupted)
        if interrupted < self.max_deliveries:
            return None
        if self.inbox.collection.find_one({"_id": key}, {"_id": 1}) is not None:
            outcome = REPEAT
        else:
            error = InterruptedDeliveries(f"interrupted {interrupted} deliveries")
            self._dead_letter(event, handler, key, error, interrupted)
            outcome = DEAD
        self.redeliveries.delete_one({"_id": key})  # a replay starts afresh
        return outcome

    def _dead_letter(self, event, handler, key, error, tries) -> None:
        now = datetime.now(timezone.utc)
        trace = "".join(traceback.format_exception(error))[-4000:] if error else ""
        try:
            self.letters.update_one(
                {"_id": key},
                {
                    "$set": {
                        "service": self.service,
                        "handler": handler,
                        "event": event,
                        "event_type": event.get("type"),
                        "producer": event.get("producer"),
                        "error": f"{type(error).__name__}: {error}",
                        "trace": trace,
                        "state": "dead",
                        "last_failed_at": now,
                    },
                    "$setOnInsert": {"first_failed_at": now},
                    "$inc": {"attempts": tries},
                },
                upsert=True,
            )
        except Exception:
            # Even the dead letter cannot be written: hand the message back to the broker
            # (requeue_on_error) after a pause, rather than lose it.
            log.exception("cannot keep dead letter %s; the broker will deliver it again", key)
            _pause_before_requeue(key)
            raise
        log.error("dead letter %s after %d tries: %s", key, tries, error)

    # --- what operators see ------------------------------------------------------------
    def dead_letters(self, state: str = "dead", limit: int = 100) -> list[dict]:
        found = self.letters.find({"state": state}).sort("last_failed_at", DESCENDING)
        return [_letter_out(d) for d in found.limit(max(1, min(int(limit), 500)))]

    def letter(self, letter_id: str) -> dict | None:
        return self.letters.find_one({"_id": letter_id})

    def mark_replayed(self, letter_id: str, actor: str) -> None:
        self.letters.update_one(
            {"_id": letter_id},
            {
                "$set": {
                    "state": "replayed",
                    "replayed_at": datetime.now(timezone.utc),
                    "replayed_by": actor,
                }
            },
        )


def _letter_out(doc: dict) -> dict:
    out = {k: v for k, v in doc.items() if k != "_id"}
    out["id"] = doc["_id"]
    for key in ("first_failed_at", "last_failed_at", "replayed_at"):
        if isinstance(out.get(key), datetime):
            out[key] = out[key].isoformat()
    return out


class EventInbox(DependencyProvider):
    """Gives a consuming service's workers its `ConsumerInbox` (one per container)."""

    def __init__(
        self,
        service_name: str,
        attempts: int | None = None,
        backoff: float = 0.25,
        max_deliveries: int | None = None,
    ):
        self.service_name = service_name
        self.attempts = attempts or int(os.environ.get("CONSUMER_ATTEMPTS", "4"))
        self.backoff = backoff
        self.max_deliveries = max_deliveries or int(os.environ.get("CONSUMER_MAX_DELIVERIES", "3"))
        super().__init__()

    def setup(self):
        config = self.container.config
        client = connect(config.get("MONGO_URL") or settings.mongo_url())
        db = client[settings.db_name(self.service_name, config)]
        self.inbox = ConsumerInbox(
            client, db, self.service_name, self.attempts, self.backoff, self.max_deliveries
        )
        self.inbox.prepare()

    def get_dependency(self, _worker_ctx):
        return self.inbox


def _inbox_of(service: object) -> ConsumerInbox:
    """The service's ConsumerInbox, whatever attribute holds it."""
    cls = type(service)
    name = getattr(cls, "_event_inbox_attr", None)
    if name is None:
        found = [n for n in dir(cls) if isinstance(getattr(cls, n, None), EventInbox)]
        if len(found) != 1:
            raise TypeError(f"{cls.__name__} needs exactly one EventInbox to consume events")
        name = found[0]
        cls._event_inbox_attr = name  # type: ignore[attr-defined]
    return getattr(service, name)


class CountedEventHandler(EventHandler):
    """nameko's `@event_handler`, telling the method whether the broker redelivered it.

    Why a subclass: nameko hands a worker only the message body, and the `redelivered`
    flag lives on the kombu message (`delivery_info`), which only the entrypoint sees. The
    flag goes to the method as the keyword `redelivered` rather than into the worker's
    context data, because nameko copies context data into the headers of every RPC and
    event the worker sends, and a downstream handler would then read it as its own.
    The rest is nameko's `Consumer.handle_message` unchanged.
    """

    def handle_message(self, body, message):
        redelivered = bool((message.delivery_info or {}).get("redelivered"))
        context_data = self.unpack_message_headers(message)
        handle_result = functools.partial(self.handle_result, message)
        try:
            self.container.spawn_worker(
                self,
                (body,),
                {"redelivered": redelivered},
                context_data=context_data,
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)


def counted_event_handler(source: str, event_type: str, handler_type: str = SERVICE_POOL):
    """`@event_handler` for a kit consumer: reliable, requeued when even the dead letter
    cannot be written, and the method gets `redelivered=` (pass it to `inbox.handle`)."""
    return CountedEventHandler.decorator(
        source,
        event_type,
        handler_type=handler_type,
        reliable_delivery=True,
        requeue_on_error=True,
    )


def consumes(source: str, event_type: str, handler_type: str = SERVICE_POOL):
    """Decorate `method(self, event, session)` as the handler of `source`'s `event_type`.

    The body runs once per event id, inside the transaction that records it as handled;
    failures are retried, then dead-lettered (see the module docstring).
    """

    def decorate(method):
        @functools.wraps(method)
        def entry(self, event: dict, redelivered: bool = False) -> str:
            inbox = _inbox_of(self)
            outcome = inbox.handle(
                event,
                method.__name__,
                lambda session: method(self, event, session),
                redelivered=redelivered,
            )
            if outcome == APPLIED and hasattr(self, "after_applied"):
                self.after_applied()  # committed: e.g. wake the outbox relay now, not at its poll
            return outcome

        return counted_event_handler(source, event_type, handler_type)(entry)

    return decorate


class DeadLetterMixin:
    """RPCs an operator uses (through the admin API) to see and replay dead letters."""

    @rpc(expected_exceptions=(Forbidden, NotFound))
    def dead_letters(self, state: str = "dead", limit: int = 100, *, caller) -> list[dict]:
        _operator_only(caller)
        return _inbox_of(self).dead_letters(state, limit)

    @rpc(expected_exceptions=(Forbidden, NotFound))
    def replay_dead_letter(self, letter_id: str, *, caller) -> dict:
        """Run the letter's handler again on its event; answers {id, outcome}."""
        _operator_only(caller)
        inbox = _inbox_of(self)
        letter = inbox.letter(letter_id)
        if letter is None or letter.get("state") != "dead":
            raise NotFound(details={"dead_letter": letter_id})
        outcome = getattr(self, letter["handler"])(letter["event"])
        if outcome in (APPLIED, REPEAT):
            inbox.mark_replayed(letter_id, caller.actor)
        return {"id": letter_id, "outcome": outcome}


def _operator_only(caller) -> None:
    if not (caller.is_trusted or caller.has_role("operator")):
        raise Forbidden(details={"required_roles": ["operator"]})
