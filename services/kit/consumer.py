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
from nameko.events import SERVICE_POOL, event_handler
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from pymongo import DESCENDING
from pymongo.client_session import ClientSession

from contracts.errors import Forbidden, NotFound
from contracts.events import payload_problems
from services.kit import settings
from services.kit.inbox import Inbox
from services.kit.mongo import connect

log = logging.getLogger(__name__)

DEAD_LETTERS = "dead_letters"
APPLIED, REPEAT, DEAD = "applied", "repeat", "dead_letter"


class MalformedEvent(ValueError):
    """The event's payload does not fit its contract schema."""


class ConsumerInbox:
    """What a consuming service's workers get: `handle` an event, and the dead letters."""

    def __init__(self, client, db, service: str, attempts: int, backoff: float):
        self.client = client
        self.service = service
        self.inbox = Inbox(client, db, consumer=service)
        self.letters = db[DEAD_LETTERS]
        self.attempts = attempts
        self.backoff = backoff

    def prepare(self) -> None:
        self.letters.create_index([("state", 1), ("last_failed_at", DESCENDING)])

    def handle(self, event: dict, handler: str, apply: Callable[[ClientSession], Any]) -> str:
        """Apply once; retry a failure `attempts` times with back-off; then dead-letter it."""
        key = f"{handler}:{event.get('id')}"
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
            eventlet.sleep(float(os.environ.get("CONSUMER_REQUEUE_PAUSE", "2")))
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

    def __init__(self, service_name: str, attempts: int | None = None, backoff: float = 0.25):
        self.service_name = service_name
        self.attempts = attempts or int(os.environ.get("CONSUMER_ATTEMPTS", "4"))
        self.backoff = backoff
        super().__init__()

    def setup(self):
        config = self.container.config
        client = connect(config.get("MONGO_URL") or settings.mongo_url())
        db = client[settings.db_name(self.service_name, config)]
        self.inbox = ConsumerInbox(client, db, self.service_name, self.attempts, self.backoff)
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


def consumes(source: str, event_type: str, handler_type: str = SERVICE_POOL):
    """Decorate `method(self, event, session)` as the handler of `source`'s `event_type`.

    The body runs once per event id, inside the transaction that records it as handled;
    failures are retried, then dead-lettered (see the module docstring).
    """

    def decorate(method):
        @functools.wraps(method)
        def entry(self, event: dict) -> str:
            inbox = _inbox_of(self)
            outcome = inbox.handle(
                event, method.__name__, lambda session: method(self, event, session)
            )
            if outcome == APPLIED and hasattr(self, "after_applied"):
                self.after_applied()  # committed: e.g. wake the outbox relay now, not at its poll
            return outcome

        return event_handler(
            source,
            event_type,
            handler_type=handler_type,
            reliable_delivery=True,
            requeue_on_error=True,
        )(entry)

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
