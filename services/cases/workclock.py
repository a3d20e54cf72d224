"""Working-time clocks: a case's limits count in working hours on an editable calendar.

Pure (standard library only). Asia/Shanghai keeps no daylight saving, so a working day is
a plain list of local intervals; a day works when it is a weekday that is not a holiday, or
a weekend day named as worked (调休). Arithmetic is in whole seconds, so it is exact:

    cal = Calendar.default()
    due = cal.add(dispatched_at, 40 * 3600)        # 40 working hours later
    cal.between(dispatched_at, due) == 40 * 3600   # always (property-tested)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_HOURS = (("08:30", "12:00"), ("13:30", "17:30"))
# A calendar that never works would loop forever: no limit may need more than this.
MAX_DAYS = 3 * 366


class CalendarError(ValueError):
    """The calendar cannot be used as it stands (overlapping or empty hours)."""


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class Calendar:
    hours: tuple[tuple[int, int], ...]  # (start, end) in minutes after local midnight
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked
    version: int = 0

    def __post_init__(self) -> None:
        if not self.hours:
            raise CalendarError("a working day needs working hours")
        previous_end = -1
        for start, end in self.hours:
            if not 0 <= start < end <= 24 * 60 or start < previous_end:
                raise CalendarError("working hours must be ordered, non-empty and not overlap")
            previous_end = end

    @classmethod
    def default(cls) -> Calendar:
        return cls.of({"hours": DEFAULT_HOURS})

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Calendar:
        """From the stored (or loaded) calendar: hours as "HH:MM", dates as dates or ISO text."""
        hours = tuple(
            sorted((_minutes(a), _minutes(b)) for a, b in (doc.get("hours") or DEFAULT_HOURS))
        )
        return cls(
            hours=hours,
            holidays=frozenset(_dates(doc.get("holidays") or ())),
            workdays=frozenset(_dates(doc.get("workdays") or ())),
            version=int(doc.get("version") or 0),
        )

    def doc(self) -> dict[str, Any]:
        return {
            "hours": [[_hhmm(a), _hhmm(b)] for a, b in self.hours],
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
            "version": self.version,
            "zone": "Asia/Shanghai",
        }

    def works_on(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day in self.workdays or day.weekday() < 5

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.works_on(day):
            return []
        midnight = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        return [
            (midnight + timedelta(minutes=a), midnight + timedelta(minutes=b))
            for a, b in self.hours
        ]

    def add(self, start: datetime, seconds: int) -> datetime:
        """The moment `seconds` of working time after `start` (UTC). Zero is `start`."""
        if seconds < 0:
            raise ValueError("working time to add must not be negative")
        cursor = start.astimezone(SHANGHAI).replace(microsecond=0)  # whole seconds: exact
        left = int(seconds)
        if left == 0:
            return start.astimezone(UTC)
        day = cursor.date()
        for _ in range(MAX_DAYS):
            for begin, end in self._intervals(day):
                if end <= cursor:
                    continue
                begin = max(begin, cursor)
                room = int((end - begin).total_seconds())
                if left <= room:
                    return (begin + timedelta(seconds=left)).astimezone(UTC)
                left -= room
            day += timedelta(days=1)
        raise CalendarError(f"no {seconds} s of working time within {MAX_DAYS} days")

    def between(self, start: datetime, end: datetime) -> int:
        """Working seconds in [start, end); 0 when end is not after start."""
        if end <= start:
            return 0
        a = start.astimezone(SHANGHAI).replace(microsecond=0)
        b = end.astimezone(SHANGHAI).replace(microsecond=0)
        total = 0
        day = a.date()
        while day <= b.date():
            for begin, finish in self._intervals(day):
                lo, hi = max(begin, a), min(finish, b)
                if hi > lo:
                    total += int((hi - lo).total_seconds())
            day += timedelta(days=1)
        return total


def hours_to_seconds(hours: float) -> int:
    """A category's limit (hours, quarters allowed) as whole seconds."""
    return int(round(float(hours) * 3600))


def _dates(values: Iterable[Any]) -> Iterable[date]:
    for value in values:
        yield value if isinstance(value, date) else date.fromisoformat(str(value))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
