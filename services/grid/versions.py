"""How every record of the registry is versioned and written: one stamp, one save.

A record (grid, household, place, post, visit) is never edited in place: its aggregate
module builds the next version with `stamped` and writes it with `save`, which inserts new
records, replaces changed ones only where the stored version is the one they were built on
(optimistic concurrency), and records one event per change in the same transaction
(`OutboxWriter.record_many`). RPCs and the importer go through the same two functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from contracts.errors import Conflict

Change = tuple[dict[str, Any], str]  # (the record as written, what happened: created | …)


def stamped(
    current: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
    *,
    now: datetime,
    actor: str,
    first: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The next version of a record: `current` (or, for a new record, `first`) with `fields`
    over it, one version on, stamped with when and by whom (the record's own history:
    who made it, who changed it last; the event carries the actor too)."""
    if current is None:
        base: dict[str, Any] = {**(first or {}), "version": 0, "created_at": now}
        base["created_by"] = actor
    else:
        base = dict(current)
    return {
        **base,
        **fields,
        "version": int(base["version"]) + 1,
        "updated_at": now,
        "updated_by": actor,
    }


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
