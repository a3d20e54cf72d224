"""Monthly settlement of a supermarket (pure, standard library only): what each village
collective owes it for the points it took, in points and in yuan (fen), and the statement
as a table safe to open in a spreadsheet.

A redemption keeps the village rate (fen per point) it was made at, so a rate changed
mid-month does not re-price goods already handed out. A refunded redemption owes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

# OWASP CSV injection: one rule for every export (the grid's too), in services/kit/cells.py
from services.kit.cells import neutralise

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def check_period(period: Any) -> str | None:
    """'2026-11' when it names a month, else None."""
    text = str(period or "")
    if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isdigit():
        return None
    return text if 1 <= int(text[5:]) <= 12 else None


def month_of(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m")


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of the month in UTC (months are Beijing months)."""
    year, month = int(period[:4]), int(period[5:])
    start = datetime(year, month, 1, tzinfo=SHANGHAI)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def period_closed_for_payment(period: str, now: datetime) -> bool:
    """A month can be paid once it is over."""
    return month_of(now) > period


def statement_rows(redemptions: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Per village: redemptions, points and yuan (fen) of the redemptions still standing."""
    rows: dict[str, dict] = {}
    for r in redemptions:
        if r.get("state") != "redeemed":
            continue
        for part in r["parts"]:
            row = rows.setdefault(
                part["village"],
                {"village": part["village"], "redemptions": 0, "points": 0, "yuan_fen": 0},
            )
            row["redemptions"] += 1
            row["points"] += int(part["points"])
            row["yuan_fen"] += int(part["points"]) * int(part["fen_per_point"])
    return [rows[v] for v in sorted(rows)]


def totals(rows: Iterable[Mapping[str, Any]]) -> dict:
    rows = list(rows)
    return {
        "redemptions": sum(r["redemptions"] for r in rows),
        "points": sum(r["points"] for r in rows),
        "yuan_fen": sum(r["yuan_fen"] for r in rows),
    }


def yuan(fen: int) -> str:
    """12345 -> '123.45' (exact: integers all the way)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


HEADER = ["村/社区", "村/社区代码", "兑换笔数", "积分", "金额（元）"]


def table(statement: Mapping[str, Any], names: Mapping[str, str]) -> list[list[Any]]:
    """The statement as rows for CSV/XLSX: a title block, the village rows, the total."""
    out: list[list[Any]] = [
        ["积分超市月结单", statement["shop_name"]],
        ["结算月份", statement["period"]],
        ["状态", "已结清" if statement.get("paid_at") else "未结清"],
        [],
        list(HEADER),
    ]
    for row in statement["rows"]:
        out.append(
            [
                names.get(row["village"], row["village"]),
                row["village"],
                row["redemptions"],
                row["points"],
                yuan(row["yuan_fen"]),
            ]
        )
    total = statement["totals"]
    out.append(["合计", "", total["redemptions"], total["points"], yuan(total["yuan_fen"])])
    return [[neutralise(cell) for cell in line] for line in out]
