"""Results people can see: the public board (晒单, no login, anonymous), figures for staff
by grid, category, source and month, and the anonymous case list outside clients read
(the gateway's Open311 adapter)."""

from __future__ import annotations

import base64
import csv
import io
import os
import time
from datetime import datetime, timedelta
from typing import Any

from contracts.caller import Caller
from contracts.cases_http import BoardQuery, FiguresQuery
from contracts.errors import Forbidden, LianxinError, NotFound, ValidationFailed
from contracts.roles import CASE_STAFF
from services.cases import case as rules_of
from services.cases import figures, views
from services.cases.base import TRUSTED, CasesBase, cases_rpc, page_skip
from services.cases.workclock import SHANGHAI
from services.kit.cells import csv_row
from services.kit.inputs import load

# The public board and its figures change when a case closes; a few seconds' staleness
# keeps a busy board off the database (the gateway adds 5 minutes of HTTP caching).
BOARD_CACHE_SECONDS = float(os.environ.get("CASES_BOARD_CACHE_SECONDS", "5"))
OPEN311_CLOSED = rules_of.DONE + rules_of.ENDED
EXPORT_ROWS = 10_000
NAMES_SECONDS = 300.0
EXPORT_COLUMNS = [
    "编号",
    "标题",
    "类别",
    "状态",
    "来源",
    "网格编码",
    "网格",
    "承办层级",
    "上报时间",
    "办结时间",
    "按时办结",
    "评价",
    "督办",
]


def this_year(now: datetime) -> tuple[str, str]:
    local = now.astimezone(SHANGHAI)
    return f"{local.year}-01", local.strftime("%Y-%m")


class ResultsRpc(CasesBase):
    _cache: dict[Any, tuple[float, Any]] = {}

    def _cached(self, key: Any, make) -> Any:
        key = (self.config.get("DB_PREFIX"), key)  # one process may serve several databases
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        value = make()
        self._cache[key] = (time.monotonic() + BOARD_CACHE_SECONDS, value)
        if len(self._cache) > 2000:  # many distinct pages: start again rather than grow
            self._cache.clear()
        return value

    def _rows(self, code: str, start: str, end: str, by: str):
        """Figures under `code` from its own tallies and those one level below it; rows by
        grid carry the grid's or division's name."""
        below = self.store.tallies_below(code) if by == "grid" or not code else []
        own = self.store.tallies_of(code) if code else below  # everything: the provinces
        rows, total = figures.rows(own, below, start, end, by)
        if by == "grid" and any(r["name"] is None for r in rows):
            names = self._names(code)
            rows = [{**r, "name": r["name"] or names.get(r["key"])} for r in rows]
        return rows, total

    def _names(self, code: str) -> dict[str, str]:
        """Names of the grids and divisions under `code`, from the grid service (kept per
        process for a while: names change rarely); none when it does not answer."""
        key = ("names", code)
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        names: dict[str, str] = {}
        try:
            for d in self.grid.list_divisions(code[:12] or None):
                names[d["code"]] = d["name"]
            if len(code) >= 12:
                for g in self.grid.list_grids(code, caller=TRUSTED):
                    names[g["code"]] = g["name"]
        except LianxinError:
            return names
        self._cache[key] = (time.monotonic() + NAMES_SECONDS, names)
        return names

    @cases_rpc
    def board(self, query: dict | None = None) -> dict:
        """The public board (no login): closed cases under a grid or division code, newest
        first, anonymous (category, grid, times, on time, rating; the point is the grid's
        centre), and the figures per grid one level down for this year."""
        q = load(BoardQuery(), query or {})
        code = q.get("grid_code") or ""
        skip = page_skip(q.get("before"))

        def make() -> dict:
            entries = self.store.board_under(code, skip, q["limit"] + 1)
            start, end = this_year(self._now())
            rows, total = self._rows(code, start, end, "grid")
            return {
                "grid_code": code or None,
                "items": [views.board_view(e) for e in entries[: q["limit"]]],
                "next": str(skip + q["limit"]) if len(entries) > q["limit"] else None,
                "figures": [_public_row(r) for r in rows],
                "total": _public_row(total),
                "period": {"start": start, "end": end},
            }

        return self._cached(("board", code, skip, q["limit"]), make)

    @cases_rpc
    def figures(self, query: dict | None = None, *, caller: Caller) -> dict:
        """Staff figures: received, registered, closed, on-time rate, return rate,
        escalations, average satisfaction — by grid, category, source or month, for months
        start..end (Beijing), under a grid code in the caller's scopes."""
        if not (caller.is_trusted or caller.has_role(*CASE_STAFF)):
            raise Forbidden(details={"required_roles": list(CASE_STAFF)})
        q = load(FiguresQuery(), query or {})
        first, last = this_year(self._now())
        start, end = q.get("start") or first, q.get("end") or last
        if start > end:
            raise ValidationFailed(details={"end": "not before start"})
        code = q.get("grid_code")
        if code:
            caller.require_visible(code, "grid_code")
        prefixes = caller.prefixes(code)
        if len(prefixes) != 1:
            # several scopes: name which one (figures add up under one code)
            if not prefixes:
                raise NotFound(details={"grid_code": code})
            raise ValidationFailed(details={"grid_code": f"one of {prefixes}"})
        prefix = prefixes[0]

        def make() -> dict:
            rows, total = self._rows(prefix, start, end, q["by"])
            return {
                "grid_code": prefix,
                "by": q["by"],
                "start": start,
                "end": end,
                "rows": rows,
                "total": total,
            }

        return self._cached(("figures", prefix, start, end, q["by"]), make)

    @cases_rpc
    def export_cases(self, grid_code: str | None = None, *, caller: Caller) -> dict:
        """Every case under a grid code in the caller's scopes (newest first, at most
        EXPORT_ROWS) as CSV, UTF-8 with BOM: {filename, content_type, content_b64, rows}.
        Cells that a spreadsheet would read as formulas stay text (services/kit/cells)."""
        if not (caller.is_trusted or caller.has_role(*CASE_STAFF)):
            raise Forbidden(details={"required_roles": list(CASE_STAFF)})
        if grid_code:
            caller.require_visible(grid_code, "grid_code")
        found: list[dict] = []
        for prefix in caller.prefixes(grid_code):
            found += self.store.cases_under(
                prefix, state=None, category=None, skip=0, limit=EXPORT_ROWS
            )
        found.sort(key=lambda d: d["created_at"], reverse=True)
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for doc in found[:EXPORT_ROWS]:
            line = views.line(doc)
            steps = doc.get("steps") or {}
            writer.writerow(
                csv_row(
                    [
                        line["number"],
                        line["title"],
                        line["category_name"],
                        line["state_zh"],
                        line["source_zh"],
                        line["grid_code"],
                        line["grid_name"] or "",
                        line["level_zh"],
                        views.iso(steps.get("reported_at")) or "",
                        views.iso(steps.get("closed_at")) or "",
                        {True: "是", False: "否"}.get(doc.get("on_time"), ""),
                        doc.get("rating") or "",
                        "是" if doc.get("supervised") else "",
                    ]
                )
            )
        return {
            "filename": f"cases-{grid_code or 'all'}.csv",
            "content_type": "text/csv; charset=utf-8",
            "content_b64": base64.b64encode(out.getvalue().encode("utf-8")).decode(),
            "rows": min(len(found), EXPORT_ROWS),
        }

    # --- what outside clients read (Open311, through the gateway's adapter) -----------------
    @cases_rpc
    def public_cases(self, filters: dict | None = None) -> list:
        """Anonymous cases, newest first: {numbers?, categories?, start?, end? (ISO),
        status?: ["open"|"closed"], skip, limit (at most 1000)}."""
        f = dict(filters or {})
        limit = max(1, min(int(f.get("limit") or 50), 1000))
        wanted = set(f.get("status") or ["open", "closed"])
        found: list[dict] = []
        skip = max(0, int(f.get("skip") or 0))
        since, until = _time(f.get("start")), _time(f.get("end"))
        if since is None and until is None and not f.get("numbers"):
            since = self._now() - timedelta(days=90)  # the standard's default window
        # filter by status after reading: read pages until the page is full
        cursor = 0
        while len(found) < skip + limit:
            page = self.store.public_cases(
                numbers=f.get("numbers"),
                categories=f.get("categories"),
                since=since,
                until=until,
                skip=cursor,
                limit=200,
            )
            found += [d for d in page if _status(d) in wanted and d["state"] != "merged"]
            if len(page) < 200 or f.get("numbers"):
                break
            cursor += 200
        return [public(d) for d in found[skip : skip + limit]]

    @cases_rpc
    def public_case(self, number: str) -> dict:
        """One anonymous case by its number (or its id, the Open311 token)."""
        doc = self.store.case_by_number(str(number)) or self.store.case(str(number))
        if doc is None or doc["state"] == "merged":
            raise NotFound(details={"case": number})
        return public(doc)


def _status(doc: dict) -> str:
    return "closed" if doc["state"] in OPEN311_CLOSED else "open"


def public(doc: dict) -> dict:
    """A case as anyone may read it: no reporter, contact or free text; the grid's centre."""
    clock = doc.get("clock") or {}
    level = doc.get("level") or "grid"
    return {
        "id": doc["_id"],
        "number": doc["number"],
        "category": doc["category"],
        "category_name": doc["category_name"],
        "state": doc["state"],
        "state_zh": views.STATE_LABELS.get(doc["state"], doc["state"]),
        "status": _status(doc),
        "grid_code": doc["grid_code"],
        "grid_name": doc.get("grid_name"),
        "point": doc.get("public_point"),
        "agency": views.LEVEL_LABELS.get(level, level),
        "created_at": views.iso(doc.get("created_at")),
        "updated_at": views.iso(doc.get("updated_at")),
        "deadline": views.iso(clock.get("deadline")),
        "photos": len(doc.get("photos") or []),
    }


def _public_row(row: dict) -> dict:
    keep = ("key", "name", "received", "closed", "on_time_rate", "satisfaction")
    return {k: row.get(k) for k in keep if k in row}


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(details={"date": f"not ISO 8601: {value}"}) from None
