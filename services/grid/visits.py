"""Home visits (入户走访) and the visit duties they meet (004 §二(三)).

A visit is logged once per client id by the worker who made it; it moves its household's
`last_visit_at` (and `last_care_at` for a care visit), which the duty engine (domain.coverage)
reads. A visit logged in error is voided, not deleted: who and why go into its history, the
household's last visits are worked out again, and `visit_voided` tells points to reverse
what it earned. Once a day the households overdue for a visit are told to the staff of each
level-2/3 grid (`overdue_digest`, `visits_overdue`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from contracts.grid import VISIT_LOGGED, VISIT_VOIDED, VisitLogged, VisitsOverdue, VisitVoided
from contracts.grid_http import VisitIn
from services.grid import domain
from services.grid.versions import Outbox, Stamp, stamped
from services.grid.versions import save as save_versions
from services.kit.inputs import problems as schema_problems

DIGEST_ACTOR = "service:grid"


@dataclass(frozen=True)
class Listing:
    """Which visits a list is of, each optional: a household's, a worker's, a grid's (and
    the grids under it)."""

    household_id: str | None = None
    worker_id: str | None = None
    grid_prefix: str | None = None


class Store(Protocol):
    def visit(self, visit_id: str, session: Any = None) -> dict | None: ...
    def insert_visits(self, docs: list[dict], session: Any) -> None: ...
    def replace_visits(self, docs: list[dict], session: Any) -> list[str]: ...
    def mark_visited(self, household_id: str, at: datetime, care: bool, session: Any) -> None: ...
    def last_visits(
        self, household_id: str, session: Any
    ) -> tuple[datetime | None, datetime | None]: ...
    def set_last_visits(
        self, household_id: str, last: datetime | None, care: datetime | None, session: Any
    ) -> None: ...


def problems(data: Any, now: datetime) -> dict[str, str]:
    """Field -> problem for a visit: its schema (kinds, findings, lengths, an aware time),
    then when it can have happened."""
    found = schema_problems(VisitIn(), data)
    if "occurred_at" not in found and isinstance(data, Mapping) and data.get("occurred_at"):
        problem = domain.visit_time_problem(domain.parse_time(data["occurred_at"]), now)
        if problem:
            found["occurred_at"] = problem
    return found


def record(
    data: Mapping[str, Any],
    household: Mapping[str, Any],
    *,
    client_id: str,
    at: Stamp,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """A new visit by `at.actor` to `household`, from its checked input."""
    now, actor = at.now, at.actor
    occurred = domain.parse_time(data["occurred_at"]) if data.get("occurred_at") else now
    first = {
        "_id": new_id(),
        "client_id": client_id,
        "household_id": household["_id"],
        "grid_code": household["grid_code"],
        "worker_id": actor,
        "recorded_at": now,
        "history": [],
    }
    fields = {
        "kind": data["kind"],
        "occurred_at": occurred,
        "findings": {k: list(v) for k, v in (data.get("findings") or {}).items()},
        "case_draft": data.get("case_draft"),
        "note": data.get("note"),
        "voided": None,
    }
    return stamped(None, fields, at, first)


def voided(current: Mapping[str, Any], reason: str, at: Stamp) -> dict:
    """The visit struck off: who and why, in its history and on it."""
    void = {"at": at.now, "by": at.actor, "reason": reason}
    history = [*current.get("history", []), {"action": "voided", **void}]
    return stamped(current, {"voided": void, "history": history}, at)


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    void = doc.get("voided")
    return {
        "id": doc["_id"],
        "household_id": doc["household_id"],
        "grid_code": doc["grid_code"],
        "worker_id": doc["worker_id"],
        "kind": doc["kind"],
        "occurred_at": domain.iso(doc["occurred_at"]),
        "recorded_at": domain.iso(doc.get("recorded_at")),
        "findings": doc.get("findings", {}),
        "case_draft": doc.get("case_draft"),
        "note": doc.get("note"),
        "voided": {k: domain.iso(v) for k, v in void.items()} if void else None,
    }


def event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    base = {
        "visit_id": doc["_id"],
        "household_id": doc["household_id"],
        "grid_code": doc["grid_code"],
        "worker_user_id": doc["worker_id"],
    }
    if change == "voided":
        void = doc["voided"]
        return VisitVoided().dump(
            {
                **base,
                "reason": void["reason"],
                "actor": void["by"],
                "at": domain.iso(void["at"]),
            }
        )
    return VisitLogged().dump(
        {
            **base,
            "kind": doc["kind"],
            "occurred_at": domain.iso(doc["occurred_at"]),
            "actor": doc["created_by"],
        }
    )


def save(store: Store, outbox: Outbox, session: Any, doc: dict[str, Any], change: str) -> None:
    """The one write path of visits: the record, its household's last visits, and its
    event (`visit_logged` when logged, `visit_voided` when voided)."""
    event_type = VISIT_VOIDED if change == "voided" else VISIT_LOGGED
    save_versions(
        store.insert_visits,
        store.replace_visits,
        outbox,
        session,
        event_type,
        event,
        [(doc, change)],
    )
    if change == "voided":
        last, care = store.last_visits(doc["household_id"], session)
        store.set_last_visits(doc["household_id"], last, care, session)
    else:
        care = doc["kind"] == "care"
        store.mark_visited(doc["household_id"], doc["occurred_at"], care, session)


# --- the daily digest of overdue households -----------------------------------------------------
def overdue_counts(rows: Iterable[Mapping[str, Any]], now: datetime) -> Counter:
    """Households overdue this quarter, counted for each level-2 and level-3 grid above
    them (both levels keep quarterly duties)."""
    period = domain.quarter_of(now)
    counts: Counter = Counter()
    for row in rows:
        if domain.is_overdue(domain.duty_of(row), period):
            for code in domain.grid_ancestors(row["grid_code"])[1:]:
                counts[code] += 1
    return counts


def overdue_digest(
    counts: Mapping[str, int],
    grids: Mapping[str, Mapping[str, Any]],
    posts_by_grid: Mapping[str, Sequence[Mapping[str, Any]]],
    now: datetime,
) -> list[dict[str, Any]]:
    """One `visits_overdue` payload per live level-2/3 grid with overdue households, for
    the staff of its posts; in code order."""
    period = domain.quarter_of(now)
    left = domain.days_left(period, now)
    out = []
    for code in sorted(counts):
        grid = grids.get(code)
        if grid is None or grid.get("retired") or grid["level"] not in (2, 3):
            continue
        out.append(
            VisitsOverdue().dump(
                {
                    "grid_code": code,
                    "grid_name": grid["name"],
                    "period": period.label,
                    "overdue": counts[code],
                    "days_left": left,
                    "user_ids": sorted({str(p["user_id"]) for p in posts_by_grid.get(code, ())}),
                    "at": now.isoformat(),
                    "actor": DIGEST_ACTOR,
                }
            )
        )
    return out
