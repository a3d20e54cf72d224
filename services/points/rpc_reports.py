"""Monthly statements of the supermarkets (view, CSV/XLSX, paid), rankings, points by
category for the annual assessment, and a village's redemption day."""

from __future__ import annotations

import base64
import csv
import io
from datetime import datetime

from nameko.rpc import rpc

from contracts.caller import Caller
from contracts.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PeriodClosed,
    ServiceUnavailable,
    ValidationFailed,
)
from contracts.points import STATEMENT_PAID, StatementPaid
from services.points import rules, settlement
from services.points.base import OPERATORS, PointsBase, iso
from services.points.rpc_shops import _day_bounds, _receipt
from services.points.transfer import Transfer, paid, shop

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(value) -> str:
    found = settlement.check_period(value)
    if not found:
        raise ValidationFailed(details={"period": "a month, YYYY-MM"})
    return found


def _span(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of '2026', '2026Q4' or '2026-11' (Beijing time)."""
    tz = settlement.SHANGHAI
    try:
        if len(period) == 4 and period.isdigit():
            start = datetime(int(period), 1, 1, tzinfo=tz)
            end = datetime(int(period) + 1, 1, 1, tzinfo=tz)
        elif len(period) == 6 and period[4] == "Q" and period[5] in "1234":
            q = int(period[5])
            start = datetime(int(period[:4]), 3 * q - 2, 1, tzinfo=tz)
            end = datetime(int(period[:4]) + q // 4, 3 * q % 12 + 1, 1, tzinfo=tz)
        elif settlement.check_period(period):
            return settlement.month_bounds(period)
        else:
            raise ValueError(period)
    except ValueError as exc:
        raise ValidationFailed(details={"period": "YYYY, YYYYQn or YYYY-MM"}) from exc
    return start, end


class ReportRpc(PointsBase):
    # --- statements ---------------------------------------------------------------------------
    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def statement(self, shop_id: str, period: str, *, caller: Caller) -> dict:
        """A supermarket's month: per village, redemptions, points and yuan owed; paid or not."""
        found = self._shop_for_staff(shop_id, caller)
        period = _period(period)
        stored = self.store.statement(shop_id, period)
        if stored is not None:
            return _statement_out(stored)
        start, end = settlement.month_bounds(period)
        rows = settlement.statement_rows(self.store.redemptions_of_shop(shop_id, start, end))
        return {
            "id": f"{shop_id}:{period}",
            "shop_id": shop_id,
            "shop_name": found["name"],
            "shop_code": found["code"],
            "period": period,
            "rows": rows,
            "totals": settlement.totals(rows),
            "paid_at": None,
            "paid_by": None,
            "payable": settlement.period_closed_for_payment(period, self._now()),
        }

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def statement_file(
        self, shop_id: str, period: str, fmt: str = "csv", *, caller: Caller
    ) -> dict:
        """{filename, content_type, data (base64)}: the statement as CSV (UTF-8 with BOM,
        for Excel) or XLSX; text cells that look like formulas are neutralised."""
        statement = self.statement(shop_id, period, caller=caller)
        table = settlement.table(statement, {})
        name = f"statement-{statement['shop_id']}-{statement['period']}"
        if fmt == "xlsx":
            from openpyxl import Workbook

            book = Workbook(write_only=True)
            sheet = book.create_sheet("月结单")
            for line in table:
                sheet.append(line)
            out = io.BytesIO()
            book.save(out)
            data, kind, name = out.getvalue(), XLSX, name + ".xlsx"
        elif fmt == "csv":
            text = io.StringIO()
            csv.writer(text, quoting=csv.QUOTE_MINIMAL).writerows(table)
            data, kind, name = (
                ("\ufeff" + text.getvalue()).encode(),
                "text/csv; charset=utf-8",
                name + ".csv",
            )
        else:
            raise ValidationFailed(details={"format": "csv or xlsx"})
        return {"filename": name, "content_type": kind, "data": base64.b64encode(data).decode()}

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed, Conflict, PeriodClosed))
    def mark_statement_paid(self, shop_id: str, period: str, *, caller: Caller) -> dict:
        """The collective paid the supermarket for the month: the points it redeemed move to
        each village's paid account, and the month closes (no refunds into it after)."""
        found = self.store.shop(shop_id)
        if found is None or not caller.covers(found["code"]):
            raise NotFound(details={"shop_id": shop_id})
        self._operator(caller, found["code"])
        period = _period(period)
        now = self._now()
        if not settlement.period_closed_for_payment(period, now):
            raise Conflict(details={"period": "the month is not over yet"})
        start, end = settlement.month_bounds(period)

        def work(session):
            if self.store.statement(shop_id, period, session) is not None:
                raise PeriodClosed(details={"period": period})
            rows = settlement.statement_rows(self.store.redemptions_of_shop(shop_id, start, end))
            doc = {
                "_id": f"{shop_id}:{period}",
                "shop_id": shop_id,
                "shop_name": found["name"],
                "shop_code": found["code"],
                "period": period,
                "rows": rows,
                "totals": settlement.totals(rows),
                "paid_at": now,
                "paid_by": caller.actor,
                "transfers": [],
            }
            for row in rows:
                if row["points"] <= 0:
                    continue
                village = row["village"]
                transfer = Transfer.build(
                    "payment",
                    f"payment:{shop_id}:{period}:{village}",
                    [(shop(shop_id, village), -row["points"]), (paid(village), row["points"])],
                    cause={
                        "kind": "statement_paid",
                        "ref": doc["_id"],
                        "yuan_fen": row["yuan_fen"],
                        "by": caller.actor,
                    },
                    actor=caller.actor,
                    at=now,
                    village=village,
                )
                record = self._post(transfer, session)
                doc["transfers"].append(record["_id"])
                payload = {
                    "statement_id": doc["_id"],
                    "supermarket_id": shop_id,
                    "village": village,
                    "period": period,
                    "points": row["points"],
                    "yuan_fen": row["yuan_fen"],
                    "actor": caller.actor,
                    "at": now.isoformat(),
                }
                self.outbox.record(session, STATEMENT_PAID, StatementPaid().dump(payload))
            self.store.insert_statement(doc, session)
            return doc

        doc = self.store.transaction(work)
        self.outbox.wake()
        return _statement_out(doc)

    # --- rankings and assessment --------------------------------------------------------------
    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def rankings(self, code: str, period: str, by: str = "worker", *, caller: Caller) -> dict:
        """积分排名: workers (or grids) under a grid, village or town, by points earned in
        the period ('2026', '2026Q4', '2026-11'), highest first, with ranks."""
        caller.require_visible(code)
        if by not in ("worker", "grid"):
            raise ValidationFailed(details={"by": "worker or grid"})
        start, end = _span(str(period))
        rows = self.store.award_totals(code, start, end, "user" if by == "worker" else "grid_code")
        key = "user" if by == "worker" else "grid_code"
        names = self._names(code) if by == "worker" else {}
        ranked = _ranked(rows)
        return {
            "code": code,
            "period": period,
            "by": by,
            "rows": [
                {
                    "rank": r["rank"],
                    "id": r[key],
                    "name": names.get(r[key], "") if by == "worker" else "",
                    "points": r["points"],
                    "awards": r["awards"],
                }
                for r in ranked
            ],
        }

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def assessment(self, code: str, year: str, *, caller: Caller) -> dict:
        """Points by duty category per worker for a year (for the annual assessment)."""
        caller.require_visible(code)
        if not (caller.is_trusted or caller.has_role("grid_leader", "instructor", *OPERATORS)):
            raise Forbidden(details={"required_roles": ["grid_leader", "instructor", *OPERATORS]})
        start, end = _span(str(year))
        by_user: dict[str, dict] = {}
        for row in self.store.award_totals(code, start, end, "user", category=True):
            person = by_user.setdefault(
                row["user"], {"user_id": row["user"], "total": 0, "by_category": {}}
            )
            category = row.get("category") or "manual"
            person["by_category"][category] = person["by_category"].get(category, 0) + row["points"]
            person["total"] += row["points"]
        names = self._names(code)
        people = sorted(by_user.values(), key=lambda p: (-p["total"], p["user_id"]))
        for p in people:
            p["name"] = names.get(p["user_id"], "")
        return {"code": code, "year": year, "categories": rules.CATEGORIES, "workers": people}

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def redemption_day(self, village: str, day: str | None = None, *, caller: Caller) -> dict:
        """积分兑换日 of a village: the day's redemptions by its workers, goods handed out,
        and every worker's balance (who still has points to spend)."""
        self._operator(caller, village)
        start, end = _day_bounds(day, self._now())
        found = self.store.redemptions_in_village(village, start, end)
        goods: dict[str, dict] = {}
        for r in found:
            if r["state"] != "redeemed":
                continue
            for line in r["lines"]:
                g = goods.setdefault(line["item_id"], {"name": line["name"], "qty": 0, "points": 0})
                g["qty"] += line["qty"]
                g["points"] += line["points"]
        names = self._names(village)
        balances = [
            {"user_id": a["owner"], "name": names.get(a["owner"], ""), "available": a["balance"]}
            for a in self.store.accounts_of_kind("wallet", village)
        ]
        balances.sort(key=lambda b: (-b["available"], b["user_id"]))
        standing = [r for r in found if r["state"] == "redeemed"]
        return {
            "village": village,
            "day": start.date().isoformat(),
            "redemptions": [_receipt(r) for r in found],
            "count": len(standing),
            "points": sum(r["total"] for r in standing),
            "goods": sorted(goods.values(), key=lambda g: -g["qty"]),
            "balances": balances,
        }

    def _names(self, code: str) -> dict[str, str]:
        """user id -> display name from the grid roll (ids only if the grid is away)."""
        try:
            posts = self.grid.list_posts(code, True, caller=Caller.trusted("points"))
        except (ServiceUnavailable, NotFound, Forbidden, ValidationFailed):
            return {}
        except Exception:  # a grid service speaking an older interface
            return {}
        return {
            p["user_id"]: p.get("display_name") or p.get("username") or ""
            for p in posts
            if p.get("user_id")
        }


def _ranked(rows: list[dict]) -> list[dict]:
    """Highest first; equal points share a rank (1, 2, 2, 4)."""
    rows = sorted(rows, key=lambda r: -r["points"])
    out, last, rank = [], None, 0
    for n, row in enumerate(rows, 1):
        if row["points"] != last:
            rank, last = n, row["points"]
        out.append({**row, "rank": rank})
    return out


def _statement_out(doc: dict) -> dict:
    out = {k: v for k, v in doc.items() if k not in ("_id", "transfers")}
    out["id"] = doc["_id"]
    out["paid_at"] = iso(doc.get("paid_at"))
    out["payable"] = False
    return out
