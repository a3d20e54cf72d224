"""Batched event consumers: several delivered events applied in one transaction.

`consumes` (services/kit/consumer.py) applies each event in a transaction of its own: an
inbox mark and the handler's writes, a dozen round trips and a commit per event. A burst
of thousands of events (a district's visits synced at once) is then bound by round trips.
`consumes_batched` is the same contract, grouped:

    class PointsService:
        inbox = EventInbox("points")

        @consumes_batched("grid", VISIT_LOGGED, batch="_award_visits")
        def on_visit_logged(self, event, session):
            ...  # one event: the fallback path, exactly as with `consumes`

        def _award_visits(self, events, session):
            ...  # many events, one transaction; each already marked handled

How (group commit, in the process, per handler): every delivered message still runs in a
nameko worker of its own, and the worker still returns - so nameko acks - only after its
event has committed. A worker that arrives when no batch is running leads: it waits up to
`max_wait` seconds for others already delivered (up to `max_size`), then applies them all in
one transaction: the inbox marks that already exist are read (repeats), one `insert_many`
marks the fresh events, the batch method writes their effects, commit. The others wait
for the outcome; when the batch is done the first waiting worker leads the next one.

Exactly once holds as with `consumes`: a process killed mid-batch commits nothing and acks
nothing, so every event of the batch comes again and is applied then; an event redelivered
after its batch committed finds its mark and is a repeat; two processes batching the same
event collide on the mark's unique key and the loser's batch is applied again event by event.
When a batch fails for any reason (a bad event among good ones, a database error), each of
its events goes through the one-event path of `consumes` on its own worker - retries,
dead letters and all - so one poison event never holds back or dead-letters the others.

How big a batch gets is bounded by how many messages nameko lets in at once: its prefetch
is the service's `max_workers`.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import eventlet
from eventlet.event import Event
from nameko.events import SERVICE_POOL
from pymongo.client_session import ClientSession

from contracts.events import payload_problems
from services.kit.consumer import (
    APPLIED,
    REPEAT,
    ConsumerInbox,
    _inbox_of,
    counted_event_handler,
)
from services.kit.mongo import in_transaction

log = logging.getLogger(__name__)

_LEAD = object()  # a ticket's signal: you lead the next batch
_ALONE = object()  # a ticket's outcome: the batch failed, apply this event on its own


def max_size_default() -> int:
    return int(os.environ.get("CONSUMER_BATCH_MAX", "200"))


def max_wait_default() -> float:
    return float(os.environ.get("CONSUMER_BATCH_WAIT_MS", "5")) / 1000


class _Ticket:
    __slots__ = ("event", "key", "signal", "outcome")

    def __init__(self, event: dict, key: str):
        self.event = event
        self.key = key
        self.signal = Event()
        self.outcome: Any = None


class Batcher:
    """Groups the events one handler's workers are holding in one process (one container),
    applying one batch at a time."""

    def __init__(self, max_size: int, max_wait: float):
        self.max_size = max(1, max_size)
        self.max_wait = max(0.0, max_wait)
        self.waiting: list[_Ticket] = []
        self.running = False
        self.batches = 0  # how many batches, and how many events in them (for tests)
        self.batched = 0

    def submit(self, event: dict, key: str, apply: Callable[[list[dict]], dict[str, str]]) -> Any:
        """Wait for `event`'s batch and answer its outcome (APPLIED or REPEAT), or `_ALONE`
        when the batch failed. `apply(events)` -> {key: outcome} runs one batch."""
        ticket = _Ticket(event, key)
        self.waiting.append(ticket)
        if not self.running:
            self.running = True
            ticket.signal.send(_LEAD)
        signal = ticket.signal.wait()
        if signal is not _LEAD:
            return signal
        try:
            self._lead(apply)
        finally:
            self._hand_over()
        return ticket.outcome

    def _lead(self, apply: Callable[[list[dict]], dict[str, str]]) -> None:
        deadline = time.monotonic() + self.max_wait
        while len(self.waiting) < self.max_size and time.monotonic() < deadline:
            eventlet.sleep(min(0.001, self.max_wait))  # let delivered messages reach us
        batch, self.waiting = self.waiting[: self.max_size], self.waiting[self.max_size :]
        outcomes: dict[str, str] | None = None
        try:
            outcomes = apply([t.event for t in batch])
        except Exception as exc:  # each event then goes its own way, retries and all
            log.warning("batch of %d failed, applying one by one: %s", len(batch), exc)
        except BaseException:  # the leader is being killed: nobody may wait for it forever
            for t in batch:
                if not t.signal.ready():
                    t.signal.send(_ALONE)
            raise
        self.batches += 1
        self.batched += len(batch)
        seen: set[str] = set()
        for t in batch:
            if outcomes is None:
                t.outcome = _ALONE
            elif t.key in seen:  # the same event delivered twice into one batch
                t.outcome = REPEAT
            else:
                seen.add(t.key)
                t.outcome = outcomes.get(t.key, _ALONE)
        for t in batch:
            if not t.signal.ready():
                t.signal.send(t.outcome)

    def _hand_over(self) -> None:
        if self.waiting:
            self.waiting[0].signal.send(_LEAD)
        else:
            self.running = False


def apply_batch(
    inbox: ConsumerInbox,
    handler: str,
    events: list[dict],
    work: Callable[[list[dict], ClientSession], None],
) -> dict[str, str]:
    """One transaction: the marks of `events` (a repeat is left out), then `work` on the
    fresh ones. Answers {mark key: APPLIED | REPEAT}; raises when anything fails, and then
    nothing of the batch was written."""
    marks = inbox.inbox.collection
    fresh: dict[str, dict] = {}
    for event in events:
        fresh.setdefault(f"{handler}:{event['id']}", event)

    def txn(session: ClientSession) -> set[str]:
        keys = list(fresh)
        done = {d["_id"] for d in marks.find({"_id": {"$in": keys}}, {"_id": 1}, session=session)}
        todo = [k for k in keys if k not in done]
        if todo:
            now = datetime.now(timezone.utc)
            marks.insert_many(
                [{"_id": k, "type": fresh[k].get("type"), "at": now} for k in todo],
                ordered=True,
                session=session,
            )
            work([fresh[k] for k in todo], session)
        return done

    done = in_transaction(inbox.client, txn)
    return {k: REPEAT if k in done else APPLIED for k in fresh}


_batchers: dict[tuple[int, str], Batcher] = {}


def batcher_of(inbox: ConsumerInbox, handler: str) -> Batcher:
    """The process's batcher of one handler of one container (its ConsumerInbox)."""
    key = (id(inbox), handler)
    found = _batchers.get(key)
    if found is None or getattr(found, "inbox", None) is not inbox:
        found = Batcher(max_size_default(), max_wait_default())
        found.inbox = inbox  # type: ignore[attr-defined]  # keeps the id from being reused
        _batchers[key] = found
    return found


def consumes_batched(source: str, event_type: str, *, batch: str, handler_type: str = SERVICE_POOL):
    """Decorate `method(self, event, session)`, the one-event path, as the handler of
    `source`'s `event_type`; `batch` names the method `(self, events, session)` that applies
    many fresh events in one transaction (see the module docstring)."""

    def decorate(method):
        @functools.wraps(method)
        def entry(self, event: dict, redelivered: bool = False) -> str:
            inbox = _inbox_of(self)
            name = method.__name__

            def alone() -> str:
                return inbox.handle(
                    event,
                    name,
                    lambda session: method(self, event, session),
                    redelivered=redelivered,
                )

            # A redelivered message may be the one that killed the process last time: it goes
            # alone, through the path that counts interrupted deliveries (consumer.py), so it
            # can neither take a batch down with it again nor loop forever.
            if (
                redelivered
                or not event.get("id")
                or payload_problems(str(event.get("type")), event.get("payload"))
            ):
                return alone()  # malformed: the one-event path dead-letters it
            outcome = batcher_of(inbox, name).submit(
                event,
                f"{name}:{event['id']}",
                lambda events: apply_batch(
                    inbox, name, events, lambda fresh, session: getattr(self, batch)(fresh, session)
                ),
            )
            if outcome is _ALONE:
                outcome = alone()
            if outcome == APPLIED and hasattr(self, "after_applied"):
                self.after_applied()
            return outcome

        return counted_event_handler(source, event_type, handler_type)(entry)

    return decorate
