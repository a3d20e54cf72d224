"""Pure rules of notifications (standard library only): templates and their variables, times
as people read them, quiet hours, which channels tell a user now, digests of bursts, and
back-off of failed deliveries."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any

from contracts.notify_kinds import CHANNELS, Kind

SHANGHAI = timezone(timedelta(hours=8))  # China keeps no daylight saving
MISSING = "—"  # what a template shows for a value the event did not carry


# --- templates ---------------------------------------------------------------------------
class TemplateProblem(ValueError):
    """A template that cannot be saved; `problems` maps the field to what is wrong."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def variables_in(text: str) -> list[str]:
    """The `{name}` variables of a template. Only plain names: `{a.b}`, `{a[0]}`, `{a!r}` and
    `{a:>9}` are refused, since str.format would reach into objects with them."""
    found: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone "{" or "}"
        raise TemplateProblem(
            {"_": f"花括号不成对（{exc}）；字面的花括号请写成 {{{{ 或 }}}}"}
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise TemplateProblem({"_": f"模板变量只能是简单名称，如 {{number}}：{{{name}}}"})
        found.append(name)
    return found


def check_template(kind: Kind, title: str, body: str) -> dict[str, str]:
    """{field: problem} of a template for `kind` ({} when it may be saved)."""
    problems: dict[str, str] = {}
    for field, text in (("title", title), ("body", body)):
        try:
            unknown = [v for v in variables_in(text) if v not in kind.variables]
        except TemplateProblem as exc:
            problems[field] = exc.problems["_"]
            continue
        if unknown:
            problems[field] = (
                f"未知的模板变量：{'、'.join('{' + u + '}' for u in dict.fromkeys(unknown))}；"
                f"可用：{'、'.join('{' + v + '}' for v in kind.variables)}"
            )
    return problems


def render(text: str, values: dict[str, Any]) -> str:
    """The template filled in; a variable the event did not carry shows as a dash."""
    shown = {k: (MISSING if v is None or v == "" else v) for k, v in values.items()}
    return string.Formatter().vformat(text, (), _Defaulting(shown))


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return MISSING


# --- times as people read them -----------------------------------------------------------
def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        at = value
    else:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def shown_time(value: str | datetime | None) -> str | None:
    """ "11月23日 17:00" in Asia/Shanghai (None when there is no time)."""
    at = parse_time(value)
    if at is None:
        return None
    local = at.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def shown_day(value: str | datetime | None) -> str | None:
    at = parse_time(value)
    if at is None:
        return None
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


# --- preferences: channels and quiet hours -----------------------------------------------
def default_channels(kind: Kind) -> list[str]:
    return list(CHANNELS) if kind.critical else ["live", "push"]


def available_channels(kind: Kind) -> list[str]:
    """SMS costs money and wakes people: only critical kinds may use it."""
    return list(CHANNELS) if kind.critical else ["live", "push"]


def channels_of(preferences: dict | None, kind: Kind) -> set[str]:
    chosen = ((preferences or {}).get("kinds") or {}).get(kind.code)
    if chosen is None:
        return set(default_channels(kind))
    return set(chosen) & set(available_channels(kind))


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(quiet: dict | None, now: datetime) -> bool:
    """Is `now` inside the user's quiet hours (Asia/Shanghai; may span midnight)?"""
    if not quiet:
        return False
    start, end = _clock(quiet["start"]), _clock(quiet["end"])
    local = now.astimezone(SHANGHAI).time().replace(second=0, microsecond=0)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


@dataclass(frozen=True)
class Telling:
    """How one message tells its user, beyond the inbox that always keeps it."""

    alert: bool  # toast in an open app, and the reason to buzz
    push: bool  # Web Push to subscribed phones
    sms: bool  # SMS if not delivered to an open app soon (critical only)
    held: bool  # counted into the next digest instead


def telling(
    kind: Kind,
    critical: bool,
    preferences: dict | None,
    now: datetime,
    digest_open: bool,
) -> Telling:
    """Decide the channels of one message.

    Critical messages (wartime orders, overdue escalations) ignore quiet hours and are never
    digested. Anything else is silent in quiet hours (still in the inbox, still on the open
    app's list, with no toast or buzz); and while a burst of its kind is being digested for
    this user (`digest_open`), it is held for the digest instead of buzzing again.
    """
    chosen = channels_of(preferences, kind)
    if critical:
        chosen |= {"live"}  # a critical message always shows in an open app
        return Telling(True, "push" in chosen, "sms" in chosen, False)
    if in_quiet_hours((preferences or {}).get("quiet"), now):
        return Telling(False, False, False, False)
    if kind.digest and digest_open:
        return Telling(False, False, False, True)
    return Telling("live" in chosen, "push" in chosen, False, False)


# --- deliveries ------------------------------------------------------------------------------
MAX_ATTEMPTS = 6


def backoff(attempt: int, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Wait before try `attempt + 1`: 2 s, 4 s, 8 s … at most ten minutes."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


def digest_text(kind: Kind, count: int, place: str | None) -> tuple[str, str]:
    """(title, body) of a digest: "5 件新案件（海兴社区）"."""
    line = render(kind.digest or "{count} 条" + kind.label, {"count": count, "place": place})
    return line, f"最近一段时间收到 {count} 条{kind.label}，请到消息中心查看。"
