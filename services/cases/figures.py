"""Figures of the closed loop: what each event adds to the tallies, and how tallies add up
into rows by grid, category, source or month.

Tallies are kept per (grid, Beijing month) with the same counts by category and by source
inside, so a county's year is a few thousand small documents rather than every case. They
are flows: a case counts as received in the month it was reported and closed in the month
it closed. Pure (standard library only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
COUNTS = (
    "received",
    "registered",
    "cancelled",
    "handled",
    "closed",
    "on_time",
    "returned",
    "escalated",
    "reopened",
    "rated",
    "rating_sum",
)
# event -> the counts it adds (rated/rating_sum and on_time are added by `increments`)
ADDS = {
    "case_reported": ("received",),
    "case_registered": ("registered",),
    "case_cancelled": ("cancelled",),
    "case_handled": ("handled",),
    "case_closed": ("closed",),
    "case_returned": ("returned",),
    "case_escalated": ("escalated",),
    "case_reopened": ("reopened",),
    "case_evaluated": ("rated",),
}


def areas(grid_code: str) -> list[str]:
    """Every code a grid lies under, from the province down to the grid itself (province,
    city, county, town, village, then each grid level). Tallies are rolled up to each, and the
    public board's entries are found by any of them."""
    found = [grid_code[:n] for n in (2, 4, 6, 9, 12) if len(grid_code) >= n]
    parts = grid_code.split("-")
    found += ["-".join(parts[:i]) for i in range(2, len(parts) + 1)]
    return list(dict.fromkeys(found))


def rollups(grid_code: str) -> list[tuple[str, str]]:
    """(code, parent) of every tally an event on `grid_code` adds to."""
    codes = areas(grid_code)
    return [(code, codes[i - 1] if i else "") for i, code in enumerate(codes)]


def month_of(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


def increments(event_type: str, payload: Mapping[str, Any]) -> dict[str, int]:
    """The `$inc` of one event on its grid's tally for the month it happened."""
    counts: dict[str, int] = {}
    for name in ADDS.get(event_type, ()):
        counts[name] = 1
    if event_type == "case_closed" and payload.get("on_time"):
        counts["on_time"] = 1
    if event_type == "case_evaluated" and isinstance(payload.get("rating"), int):
        counts["rating_sum"] = int(payload["rating"])
    out: dict[str, int] = {}
    for name, n in counts.items():
        out[f"n.{name}"] = n
        out[f"category.{payload['category']}.{name}"] = n
        out[f"source.{payload['source']}.{name}"] = n
    return out


def rows(
    own: Iterable[Mapping[str, Any]],
    children: Iterable[Mapping[str, Any]],
    start: str,
    end: str,
    by: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows by `by` (grid | category | source | month) for months start..end, and the total:
    `own` are the tallies rolled up to the asked code, `children` those one level below it
    (the rows by grid). A grid with nothing below it is its own only row."""
    own = [t for t in own if start <= t["month"] <= end]
    children = [t for t in children if start <= t["month"] <= end]
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    names: dict[str, str] = {}
    total = dict.fromkeys(COUNTS, 0)
    for tally in own:
        _add(total, tally.get("n") or {})
        if by == "month":
            _add(sums[tally["month"]], tally.get("n") or {})
        elif by in ("category", "source"):
            for key, counts in (tally.get(by) or {}).items():
                _add(sums[key], counts)
    if by == "grid":
        for tally in children or own:
            _add(sums[tally["code"]], tally.get("n") or {})
            if tally.get("grid_name"):
                names[tally["code"]] = tally["grid_name"]
    out = [{"key": key, "name": names.get(key), **rates(c)} for key, c in sorted(sums.items())]
    return out, rates(total)


def rates(c: Mapping[str, int]) -> dict[str, Any]:
    """Counts with the rates people ask for (None where nothing was there to divide by)."""
    return {
        **{k: c.get(k, 0) for k in COUNTS if k != "rating_sum"},
        "on_time_rate": _share(c.get("on_time", 0), c.get("closed", 0)),
        "return_rate": _share(c.get("returned", 0), c.get("handled", 0)),
        "satisfaction": round(c["rating_sum"] / c["rated"], 2) if c.get("rated") else None,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _add(into: dict[str, int], counts: Mapping[str, Any]) -> None:
    for key in COUNTS:
        into[key] += int(counts.get(key, 0) or 0)
