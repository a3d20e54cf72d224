"""Importing, part 4 of 4: the plan written. A good file is written in one transaction
through each aggregate's one write path (the records and their events, recorded in bulk
by `OutboxWriter.record_many`), and the file is remembered by its digest.

Why one transaction per file: all or nothing is what a person importing a spreadsheet
expects. The embedded server slows sharply past ~10,000 households in one transaction
(measured: 10,000 in 29 s; 20,000 not done in 7 minutes) and MongoDB limits a transaction
to 60 s, so a bigger file is refused up front (GRID_IMPORT_MAX_RECORDS).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.grid import grids, households, places, posts
from services.grid.importing.plan import Plan
from services.grid.storage import Registry
from services.grid.versions import Outbox

SAVES = {
    "grids": grids.save,
    "households": households.save,
    "places": places.save,
    "staff": posts.save,
}


def apply(
    store: Registry, outbox: Outbox, plan: Plan, chunk: int | None = None
) -> list[tuple[str, Any, int]]:
    """Write the plan (in one transaction, or one per `chunk` records where all-or-nothing
    is not needed: a dataset loads again to finish); answers the grids changed (code,
    boundary, version), for the locate index once the transaction has committed."""
    save = SAVES[plan.kind]
    step = chunk or max(1, len(plan.changes))
    for i in range(0, len(plan.changes), step):
        part = plan.changes[i : i + step]
        store.transaction(lambda session, part=part: save(store, outbox, session, part))
    if plan.kind != "grids":
        return []
    return [(doc["_id"], doc.get("boundary"), doc["version"]) for doc, _ in plan.changes]


def remember(
    store: Registry,
    digest: str,
    report: dict,
    *,
    kind: str,
    filename: str,
    actor: str,
    now: datetime,
) -> None:
    """The file, by its digest: importing it again says `seen_before`."""
    store.record_import(
        {
            "_id": digest,
            "kind": kind,
            "file": filename,
            "actor": actor,
            "at": now,
            **{k: report[k] for k in ("created", "updated", "unchanged")},
        }
    )
