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


def child_of(prefix: str, code: str) -> str:
    """The row a grid's figures go to under `prefix`: one level below it (county → towns →
    villages → level-1 grids → …), or the grid itself."""
    if len(prefix) < 6:
        return code[:6]
    if len(prefix) < 9:
        return code[:9]
    if len(prefix) < 12:
        return code[:12]
    depth = prefix.count("-") + 1
    parts = code.split("-")
    return "-".join(parts[: depth + 1])


def rows(
    tallies: Iterable[Mapping[str, Any]], prefix: str, start: str, end: str, by: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows by `by` (grid | category | source | month) for months start..end, and the total."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    names: dict[str, str] = {}
    total = dict.fromkeys(COUNTS, 0)
    for tally in tallies:
        if not (start <= tally["month"] <= end and tally["grid_code"].startswith(prefix)):
            continue
        _add(total, tally.get("n") or {})
        if by == "grid":
            key = child_of(prefix, tally["grid_code"])
            _add(sums[key], tally.get("n") or {})
            if key == tally["grid_code"] and tally.get("grid_name"):
                names[key] = tally["grid_name"]
        elif by == "month":
            _add(sums[tally["month"]], tally.get("n") or {})
        else:
            for key, counts in (tally.get(by) or {}).items():
                _add(sums[key], counts)
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
