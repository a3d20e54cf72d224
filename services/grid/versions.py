"""How every record of the registry is versioned and written: one stamp, one save.

A record (grid, household, place, post, visit) is never edited in place: its aggregate
module builds the next version with `stamped` and writes it with `save`, which inserts new
records, replaces changed ones only where the stored version is the one they were built on
(optimistic concurrency), and records one event per change in the same transaction
(`OutboxWriter.record_many`). RPCs and the importer go through the same two functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from contracts.caller import Caller
from contracts.errors import Conflict, NotFound

Change = tuple[dict[str, Any], str]  # (the record as written, what happened: created | …)
Fields = Mapping[str, Any]
NewId = Callable[[], str]  # a new record's id (uuid4 hex in the service)


@dataclass(frozen=True)
class Stamp:
    """When a change is made and by whom: every version of a record carries both, and its
    event the actor."""

    now: datetime
    actor: str


def stamped(
    current: Fields | None, fields: Fields, at: Stamp, first: Fields | None = None
) -> dict[str, Any]:
    """The next version of a record: `current` (or, for a new record, `first`) with `fields`
    over it, one version on, stamped with when and by whom (the record's own history:
    who made it, who changed it last)."""
    if current is None:
        base: dict[str, Any] = {**(first or {}), "version": 0}
        base.update(created_at=at.now, created_by=at.actor)
    else:
        base = dict(current)
    version = int(base["version"]) + 1
    return {**base, **fields, "version": version, "updated_at": at.now, "updated_by": at.actor}


def changed(current: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Would `new` change the stored record (any of its fields differ)?"""
    return any(current.get(k) != v for k, v in new.items())


def in_view(doc: Mapping[str, Any] | None, caller: Caller, **what: str) -> dict[str, Any]:
    """`doc` when the caller may see it (its grid code in their scopes); else NotFound
    naming `what`, alike for a record that is not there and one that lies outside."""
    if doc is None or not caller.covers(doc.get("grid_code")):
        raise NotFound(details=what)
    return dict(doc)


@contextmanager
def conflict_shows(current: Callable[[], Any]) -> Iterator[None]:
    """A Conflict from a save inside becomes one whose details show the record as it is
    stored now (what the caller needs to try again)."""
    try:
        yield
    except Conflict:
        raise Conflict(details={"current": current()}) from None


class Outbox(Protocol):
    def record_many(self, session: Any, event_type: str, payloads: Any) -> Any: ...


Write = Callable[[list[dict[str, Any]], Any], Any]


def save(
    insert: Write,
    replace: Callable[[list[dict[str, Any]], Any], list[str]],
    outbox: Outbox,
    session: Any,
    event_type: str | None,
    event: Callable[[dict[str, Any], str], dict[str, Any]],
    changes: Sequence[Change],
) -> None:
    """Write `changes` (version 1: insert, later: replace) and their events, in `session`.

    `replace` answers the ids whose stored version had moved on; any such id is a Conflict
    and the caller's transaction writes nothing.
    """
    created = [doc for doc, _ in changes if doc["version"] == 1]
    revised = [doc for doc, _ in changes if doc["version"] > 1]
    if created:
        insert(created, session)
    if revised:
        stale = replace(revised, session)
        if stale:
            raise Conflict(details={"stale": stale[:20]})
    if event_type is not None:
        outbox.record_many(session, event_type, [event(doc, change) for doc, change in changes])


def remove(
    delete: Callable[..., Any],
    outbox: Outbox,
    session: Any,
    event_type: str,
    event: Callable[[dict[str, Any], str], dict[str, Any]],
    doc: Mapping[str, Any],
    actor: str,
    change: str = "removed",
) -> None:
    """End a record (a post, a reserve member, a party link): it goes, and its event,
    naming who ended it, is recorded in the same session."""
    delete(doc["_id"], session=session)
    outbox.record_many(session, event_type, [event({**doc, "updated_by": actor}, change)])
