"""The one write path of a case: its record, its timeline entries and its events, in the
caller's transaction (one case at a time: SecantusDB slows sharply on big transactions).

Every event payload is dumped through its contract schema (`contracts.cases.CaseEvent`), so
what the points mall and notifications read cannot drift from the contract; in tests the
outbox writer validates each one too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.cases import CaseEvent
from contracts.errors import Conflict
from services.cases.case import Event
from services.cases.storage import CaseStore
from services.kit.outbox import OutboxWriter


def record_events(outbox: OutboxWriter, session, events: Sequence[Event]) -> None:
    schema = CaseEvent()
    for event_type, fields in events:
        outbox.record(session, event_type, schema.dump(fields))


def create(
    store: CaseStore,
    outbox: OutboxWriter,
    session,
    case: dict[str, Any],
    entry: dict[str, Any],
    events: Sequence[Event],
) -> None:
    """A new case, its first timeline entry and its `case_reported`."""
    store.insert_case(case, session)
    store.append_timeline([entry], session)
    record_events(outbox, session, events)


def move(
    store: CaseStore,
    outbox: OutboxWriter,
    session,
    before: dict[str, Any],
    after: dict[str, Any],
    entries: Sequence[dict[str, Any]],
    events: Sequence[Event],
) -> None:
    """Store `after` only if the case is still at `before`'s version; Conflict otherwise
    (with the case as it is now, so the caller can show it)."""
    if not store.replace_case(after, before["version"], session):
        raise Conflict(details={"case_id": before["_id"], "version": before["version"]})
    store.append_timeline(list(entries), session)
    record_events(outbox, session, events)
