"""Explicit time: services ask a clock, so tests and drills can move it."""

from datetime import datetime, timedelta, timezone

from nameko.extensions import DependencyProvider


def to_ms(at: datetime) -> datetime:
    """MongoDB keeps milliseconds: times are cut there before they are compared, hashed or
    stored, so what a service holds equals what it reads back."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


class Clock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class SettableClock(Clock):
    """A clock that can be set or advanced (tests, and SLA/quarter drills)."""

    def __init__(self, at: datetime | None = None):
        self._offset = timedelta(0)
        if at is not None:
            self.set(at)

    def set(self, at: datetime) -> None:
        self._offset = at - datetime.now(timezone.utc)

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset


class ClockProvider(DependencyProvider):
    """Gives each worker the service's clock; `CLOCK_OFFSET_SECONDS` in the config moves it."""

    def setup(self):
        offset = float(self.container.config.get("CLOCK_OFFSET_SECONDS", 0) or 0)
        self.clock = SettableClock()
        self.clock.advance(timedelta(seconds=offset))

    def get_dependency(self, _worker_ctx):
        return self.clock
