"""The one write path of a case: its record, its timeline entries and its events, in the
caller's transaction (one case at a time: SecantusDB slows sharply on big transactions).

Every event payload is dumped through its contract schema (`contracts.cases.CaseEvent`), so
what the points mall and notifications read cannot drift from the contract; in tests the
outbox writer validates each one too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts.cases import CaseEvent
from contracts.errors import Conflict
from services.cases import figures, views
from services.cases.case import DONE, Event
from services.cases.storage import CaseStore
from services.cases.workclock import Calendar
from services.kit.outbox import OutboxWriter


def record_events(outbox: OutboxWriter, session, events: Sequence[Event]) -> None:
    schema = CaseEvent()
    for event_type, fields in events:
        outbox.record(session, event_type, schema.dump(fields))


def deltas(events: Sequence[Event]) -> list[dict[str, Any]]:
    """What the events add to the figures: one insert-only delta each (folded later)."""
    found = []
    for event_type, fields in events:
        counts = figures.increments(event_type, fields)
        if counts:
            found.append(
                {
                    "grid_code": fields["grid_code"],
                    "grid_name": fields.get("grid_name"),
                    "month": figures.month_of(datetime.fromisoformat(fields["at"])),
                    "counts": counts,
                }
            )
    return found


def _record(store: CaseStore, outbox: OutboxWriter, session, events: Sequence[Event]) -> None:
    record_events(outbox, session, events)
    store.add_deltas(deltas(events), session)


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
    _record(store, outbox, session, events)


def move(
    store: CaseStore,
    outbox: OutboxWriter,
    session,
    before: dict[str, Any],
    after: dict[str, Any],
    entries: Sequence[dict[str, Any]],
    events: Sequence[Event],
    calendar: Calendar | None = None,
) -> None:
    """Store `after` only if the case is still at `before`'s version; Conflict otherwise
    (with the case as it is now, so the caller can show it). A case that is done gets its
    public board entry (the working time from dispatch to closing, on `calendar`); one
    reopened loses it."""
    if not store.replace_case(after, before["version"], session):
        raise Conflict(details={"case_id": before["_id"], "version": before["version"]})
    store.append_timeline(list(entries), session)
    _record(store, outbox, session, events)
    if after["state"] in DONE:
        steps = after["steps"]
        start = steps.get("dispatched_at") or steps["reported_at"]
        seconds = (calendar or Calendar.default()).between(start, steps["closed_at"])
        store.put_board(views.board_entry(after, seconds), session)
    elif before["state"] in DONE:
        store.drop_board(after["_id"], session)
