"""Expiry of points (pure, standard library only): a policy per village collective, and
which of a wallet's points expire when, oldest first.

Every credit to a wallet is a lot dated when it arrived; every debit (a redemption, a
reversal, an expiry) takes from the oldest lots first. A lot's expiry follows the
village's policy: never, at the end of the year it was earned (Asia/Shanghai), or N days
after it was earned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
MODES = ("never", "year_end", "days")
DEFAULT_POLICY: dict[str, Any] = {"mode": "never"}


def check_policy(policy: Mapping[str, Any]) -> dict:
    mode = policy.get("mode")
    if mode not in MODES:
        return {"mode": f"one of {', '.join(MODES)}"}
    days = policy.get("days")
    if mode == "days" and (
        not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660
    ):
        return {"days": "a whole number of days from 1 to 3660"}
    return {}


def expires_at(policy: Mapping[str, Any], earned_at: datetime) -> datetime | None:
    mode = policy.get("mode", "never")
    if mode == "year_end":
        local = earned_at.astimezone(SHANGHAI)
        return datetime(local.year + 1, 1, 1, tzinfo=SHANGHAI).astimezone(timezone.utc)
    if mode == "days":
        return earned_at + timedelta(days=int(policy["days"]))
    return None


@dataclass
class Lot:
    earned_at: datetime
    expires_at: datetime | None
    remaining: int


def lots(movements: Iterable[tuple[datetime, int]], policy: Mapping[str, Any]) -> list[Lot]:
    """The wallet's lots still holding points, oldest first, from its movements in order
    ((time, raw amount): credits positive, debits negative)."""
    held: list[Lot] = []
    for at, amount in movements:
        if amount > 0:
            held.append(Lot(at, expires_at(policy, at), amount))
            continue
        take = -amount
        while take and held:
            first = held[0]
            used = min(first.remaining, take)
            first.remaining -= used
            take -= used
            if first.remaining == 0:
                held.pop(0)
    return held


def due(held: Iterable[Lot], now: datetime) -> tuple[int, datetime | None]:
    """(points whose expiry has passed, the latest such expiry) - what the sweep removes."""
    total, latest = 0, None
    for lot in held:
        if lot.expires_at is not None and lot.expires_at <= now:
            total += lot.remaining
            latest = lot.expires_at if latest is None else max(latest, lot.expires_at)
    return total, latest


def upcoming(held: Iterable[Lot], now: datetime, within: timedelta) -> list[tuple[datetime, int]]:
    """[(expiry, points)] expiring after now and within `within`, soonest first."""
    by_time: dict[datetime, int] = {}
    for lot in held:
        if lot.expires_at is not None and now < lot.expires_at <= now + within:
            by_time[lot.expires_at] = by_time.get(lot.expires_at, 0) + lot.remaining
    return sorted(by_time.items())
