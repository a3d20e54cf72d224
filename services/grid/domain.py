"""Grid registry rules: codes, households, posts, the on-duty resolver, visit duties,
grid-rule warnings and masking. Plain Python (standard library only), no I/O.

Sources: DOMAIN.md §1–§2 (004 §二 for sizes, staffing, A/B posts and visit duties).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.grid_vocabulary import (
    DEDICATED_KINDS,
)

LOCAL = ZoneInfo("Asia/Shanghai")

# --- codes ------------------------------------------------------------------------------
# Division codes: province 2, city 4, county 6, town 9, village/community 12 digits.
DIVISION_LENGTHS = {2: "province", 4: "city", 6: "county", 9: "town", 12: "village"}
# Grid codes: village code, then one fixed-width segment per level: -NNN, -NN, -NN.
SEGMENT_WIDTHS = {1: 3, 2: 2, 3: 2}
GRID_CODE = re.compile(r"^(\d{12})-(\d{3})(?:-(\d{2})(?:-(\d{2}))?)?$")


def division_level(code: str) -> str | None:
    """'county', 'town', … for a well-formed division code, else None."""
    if not code.isdigit():
        return None
    return DIVISION_LENGTHS.get(len(code))


def division_parent(code: str) -> str | None:
    lengths = sorted(DIVISION_LENGTHS)
    i = lengths.index(len(code))
    return code[: lengths[i - 1]] if i > 0 else None


def is_grid_code(code: str) -> bool:
    return bool(GRID_CODE.match(code or ""))


def grid_level(code: str) -> int:
    """1, 2 or 3 for a grid code (ValueError for anything else)."""
    m = GRID_CODE.match(code or "")
    if not m:
        raise ValueError(f"not a grid code: {code!r}")
    return sum(1 for g in m.groups()[1:] if g is not None)


def village_of(code: str) -> str:
    return code[:12]


def grid_parent(code: str) -> str:
    """The parent grid's code, or the village code for a level-1 grid."""
    level = grid_level(code)
    return village_of(code) if level == 1 else code.rsplit("-", 1)[0]


def grid_ancestors(code: str) -> list[str]:
    """Codes from the level-1 grid down to `code` itself."""
    parts = code.split("-")
    return ["-".join(parts[: i + 1]) for i in range(1, len(parts))]


def child_code(parent: str, number: int) -> str:
    """The code of the `number`-th child of a village (level 1) or grid (levels 2, 3)."""
    level = 1 if len(parent) == 12 and parent.isdigit() else grid_level(parent) + 1
    if level > 3:
        raise ValueError("level-3 grids have no children")
    width = SEGMENT_WIDTHS[level]
    if not 1 <= number < 10**width:
        raise ValueError(f"segment {number} does not fit {width} digits")
    return f"{parent}-{number:0{width}d}"


def check_grid_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """Field -> problem for a new or changed grid: what its code says, and a dedicated
    grid's kind. Field limits (lengths, the list of kinds) are its schema's
    (contracts.grid_http.GridCreateIn); geometry is judged in grids.py."""
    problems: dict[str, str] = {}
    code = str(data.get("code") or "")
    if not is_grid_code(code):
        problems["code"] = (
            f"{code!r} is not a grid code: a 12-digit village code, then -NNN (level 1), "
            "-NN (level 2), -NN (level 3)"
        )
    else:
        level = grid_level(code)
        if data.get("level") not in (None, level):
            problems["level"] = f"code {code} is a level-{level} grid, not level {data['level']}"
        if data.get("parent") not in (None, grid_parent(code)):
            problems["parent"] = (
                f"code {code} does not fit its parent {data['parent']}: it must start "
                f"with {grid_parent(code)}"
            )
        if code.split("-")[-1].strip("0") == "":
            problems["code"] = f"{code}: a segment of zeros is not a grid number"
    if data.get("kind") == "dedicated" and data.get("dedicated_kind") not in DEDICATED_KINDS:
        problems["dedicated_kind"] = f"a dedicated grid needs one of {list(DEDICATED_KINDS)}"
    return problems


# --- households -------------------------------------------------------------------------
# 004 §二(三)2: a yearly care visit to these households.
CARE_TAGS = frozenset(
    {"elderly_alone", "hardship", "disabled", "key_person", "special_group", "rental_house"}
)
PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """GB 11643 check character of an 18-character resident ID number."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_problem(value: str) -> str | None:
    value = (value or "").strip().upper()
    if not ID_NUMBER.match(value):
        return "18 characters: 17 digits and a digit or X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "the birth date inside the number is not a date"
    if id_check_char(value[:17]) != value[17]:
        return "the check character is wrong"
    return None


def normalise_id(value: str) -> str:
    return (value or "").strip().upper()


def id_lookup_hash(id_number: str, key: bytes) -> str:
    """Keyed hash for finding a person by ID number without storing the number."""
    return hmac.new(key, normalise_id(id_number).encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    if len(phone) >= 7:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
    return "*" * len(phone)


def mask_id(id_number: str | None) -> str | None:
    """An ID number as shown: the province (2 digits) and the last four, nothing between.

    The county (digits 3-6) and the birth date (7-14) are both hidden (issue 7 §2): with
    either in view, plus the birth year a view shows and the household's address, the
    check character confirmed a guess of the rest. A mask of the older, wider kind
    (`330424********0012`) masks down to the same form.
    """
    if not id_number:
        return id_number
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:2] + "*" * (len(id_number) - 6) + id_number[-4:]


def birth_year(birth_date: str | None) -> int | None:
    """The year of a YYYY-MM-DD birth date: all of it a view shows (never the day)."""
    text = str(birth_date or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else None


def id_birth_date(id_number: str) -> str:
    """The birth date written inside an 18-character ID number, as YYYY-MM-DD."""
    return f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"


def is_masked(value: str | None) -> bool:
    return bool(value) and "*" in str(value)


def household_rule_problems(data: Mapping[str, Any], today: date) -> dict[str, str]:
    """Field -> problem for a household file beyond its schema's field limits: valid ID
    numbers and phones (masked ones stand for what is stored), plausible birth dates,
    exactly one head, a landlord for a rented home."""
    problems: dict[str, str] = {}
    members = data.get("members")
    members = members if isinstance(members, list) else []
    heads = 0
    for i, member in enumerate(members):
        if not isinstance(member, Mapping):
            continue
        where = f"members[{i}]"
        heads += member.get("relation", "other") == "head"
        id_number = member.get("id_number")
        if id_number and not is_masked(id_number):
            problem = id_number_problem(str(id_number))
            if problem:
                problems[f"{where}.id_number"] = problem
        phone = member.get("phone")
        if phone and not is_masked(phone) and not PHONE.match(str(phone)):
            problems[f"{where}.phone"] = "a mobile (11 digits) or landline number"
        birth = member.get("birth_date")
        if birth:
            try:
                born = date.fromisoformat(str(birth))
                if born > today or born.year < 1890:
                    problems[f"{where}.birth_date"] = "not a plausible birth date"
            except ValueError:
                problems[f"{where}.birth_date"] = "a date as YYYY-MM-DD"
    if members and heads != 1:
        problems["members"] = "exactly one member with relation 'head'"
    housing = data.get("housing")
    housing = housing if isinstance(housing, Mapping) else {}
    if housing.get("tenure") == "rented" and not str(housing.get("landlord") or "").strip():
        problems["housing.landlord"] = "a rented home names its landlord"
    return problems


# --- personal data ------------------------------------------------------------------------
# Roles that need phone numbers (and ID numbers where stored) of residents in their scope.
UNMASKED_ROLES = frozenset(
    {"grid_leader", "grid_worker", "community_admin", "town_admin", "county_admin"}
)


def may_unmask(roles: Iterable[str]) -> bool:
    return bool(UNMASKED_ROLES.intersection(roles))


# --- staff posts --------------------------------------------------------------------------
def check_post(data: Mapping[str, Any], level: int) -> dict[str, str]:
    """Field -> problem for a post on a grid of `level`, beyond its schema's field limits:
    A/B cover below level 1 only, a grid leader on level 1 only, a valid phone."""
    problems: dict[str, str] = {}
    post = data.get("post")
    ab = data.get("ab")
    if ab and level == 1:
        problems["ab"] = "A/B posts are set on level-2 and level-3 grids only"
    if post == "grid_leader" and level != 1:
        problems["post"] = "a grid leader (网格长) leads a level-1 grid"
    phone = data.get("phone")
    if phone and not PHONE.match(str(phone)):
        problems["phone"] = "a mobile (11 digits) or landline number"
    return problems


@dataclass(frozen=True)
class OnDuty:
    user_id: str
    grid_code: str
    post: str
    ab: str | None
    path: tuple[str, ...]  # grid codes tried, deepest first


def resolve_on_duty(
    code: str, posts_by_grid: Mapping[str, Sequence[Mapping[str, Any]]]
) -> OnDuty | None:
    """Who handles grid `code` now: at level 3 and 2 the A post, or B while A is absent;
    a level with nobody present passes to its parent; level 1 answers with its leader
    (a full-time worker while the leader is absent)."""
    tried: list[str] = []
    for grid in reversed(grid_ancestors(code)):
        tried.append(grid)
        present = [p for p in posts_by_grid.get(grid, ()) if not p.get("absent")]
        if grid_level(grid) == 1:
            order = ("grid_leader", "full_time_worker")
            for wanted in order:
                for p in sorted(present, key=lambda p: str(p["user_id"])):
                    if p["post"] == wanted:
                        return OnDuty(p["user_id"], grid, p["post"], None, tuple(tried))
            return None
        for wanted_ab in ("A", "B"):
            for p in sorted(present, key=lambda p: str(p["user_id"])):
                if p.get("ab") == wanted_ab:
                    return OnDuty(p["user_id"], grid, p["post"], wanted_ab, tuple(tried))
    return None


# --- grid-rule warnings -----------------------------------------------------------------
LEVEL1_MIN, LEVEL1_MAX = 300, 500
MICRO_TARGET, MICRO_SPREAD = 30, 10  # level 3: "about 30"; warn outside 20–40
HOUSEHOLDS_PER_FULL_TIME = 100


@dataclass(frozen=True)
class GridWarning:
    code: str  # the grid
    rule: str
    message: str


def grid_warnings(
    grid: Mapping[str, Any], households: int, posts: Sequence[Mapping[str, Any]]
) -> list[GridWarning]:
    """The staffing and size rules of 004 §二, for one grid."""
    code, level = grid["code"], grid["level"]
    out: list[GridWarning] = []
    comprehensive = grid.get("kind", "comprehensive") == "comprehensive"
    if level == 1 and comprehensive:
        if households < LEVEL1_MIN:
            out.append(
                GridWarning(
                    code,
                    "level1_too_small",
                    f"{households} households, under {LEVEL1_MIN}: merge with a neighbour",
                )
            )
        elif households > LEVEL1_MAX:
            out.append(
                GridWarning(
                    code,
                    "level1_too_large",
                    f"{households} households, over {LEVEL1_MAX}: split the grid",
                )
            )
        full_time = len({p["user_id"] for p in posts if p["post"] == "full_time_worker"})
        needed = math.ceil(households / HOUSEHOLDS_PER_FULL_TIME)
        if full_time < needed:
            out.append(
                GridWarning(
                    code,
                    "too_few_full_time",
                    f"{full_time} full-time workers for {households} households; "
                    f"one per {HOUSEHOLDS_PER_FULL_TIME} needs {needed}",
                )
            )
        if not any(p["post"] == "grid_leader" for p in posts):
            out.append(GridWarning(code, "no_leader", "no grid leader (网格长)"))
    if level == 3 and comprehensive and abs(households - MICRO_TARGET) > MICRO_SPREAD:
        out.append(
            GridWarning(
                code,
                "micro_size",
                f"{households} households; a level-3 grid holds about {MICRO_TARGET}",
            )
        )
    if level in (2, 3):
        abs_ = {p.get("ab") for p in posts}
        if "A" not in abs_:
            out.append(GridWarning(code, "no_a_post", "no A post"))
        if "B" not in abs_:
            out.append(GridWarning(code, "no_b_post", "no B post to take over while A is absent"))
    return out


# --- visits and duties --------------------------------------------------------------------
FUTURE_SLACK = timedelta(minutes=5)  # phone clocks run a little fast


def visit_time_problem(at: datetime, now: datetime) -> str | None:
    """Why a visit cannot have happened at `at` (None when it can): not in the future
    beyond a phone clock's drift, not more than a year ago."""
    if at > now + FUTURE_SLACK:
        return "in the future"
    if at < now - timedelta(days=366):
        return "more than a year ago"
    return None


def parse_time(value: Any) -> datetime:
    """An aware datetime from an ISO string or datetime (naive is refused)."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        raise ValueError("naive time")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class Period:
    kind: str  # "quarter" | "year"
    label: str  # "2024Q3" | "2024"
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL).astimezone(UTC)


def quarter_of(at: datetime) -> Period:
    """The calendar quarter, in Asia/Shanghai, that `at` falls in."""
    local = at.astimezone(LOCAL)
    q = (local.month - 1) // 3
    first = date(local.year, 3 * q + 1, 1)
    after = date(local.year + 1, 1, 1) if q == 3 else date(local.year, 3 * q + 4, 1)
    return Period(
        "quarter", f"{local.year}Q{q + 1}", _local_midnight(first), _local_midnight(after)
    )


def year_of(at: datetime) -> Period:
    local = at.astimezone(LOCAL)
    return Period(
        "year",
        str(local.year),
        _local_midnight(date(local.year, 1, 1)),
        _local_midnight(date(local.year + 1, 1, 1)),
    )


def previous(period: Period) -> Period:
    before = period.start - timedelta(seconds=1)
    return quarter_of(before) if period.kind == "quarter" else year_of(before)


def days_left(period: Period, now: datetime) -> int:
    """Calendar days left in the period, today (Asia/Shanghai) included."""
    today = now.astimezone(LOCAL).date()
    last = (period.end - timedelta(seconds=1)).astimezone(LOCAL).date()
    return max(0, (last - today).days + 1)


def duty_period(level: int, now: datetime) -> Period:
    """Level-2/3 workers visit every household each quarter, level-1 each year (004)."""
    return year_of(now) if level == 1 else quarter_of(now)


@dataclass(frozen=True)
class HouseholdDuty:
    """What the duty engine needs of a household."""

    id: str
    grid_code: str
    created_at: datetime
    last_visit_at: datetime | None = None
    last_care_at: datetime | None = None
    tags: tuple[str, ...] = ()


@dataclass
class Coverage:
    period: Period
    households: int = 0
    visited: int = 0
    overdue: list[str] = field(default_factory=list)  # household ids
    care_due: int = 0
    care_done: int = 0
    days_left: int = 0

    @property
    def share(self) -> float:
        return 1.0 if self.households == 0 else self.visited / self.households

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.label,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "households": self.households,
            "visited": self.visited,
            "share": round(self.share, 4),
            "overdue": len(self.overdue),
            "overdue_ids": list(self.overdue),
            "care_due": self.care_due,
            "care_done": self.care_done,
            "days_left": self.days_left,
        }


def coverage(households: Iterable[HouseholdDuty], period: Period, now: datetime) -> Coverage:
    """Coverage of one duty period: visited so far, and which households are overdue.

    A household is *visited* when a visit falls in the current period. It is *overdue*
    when it was not visited in this period and also missed the whole previous period
    although it was already on the roll then (its duty lapsed unmet). Tagged households
    also need a care visit each calendar year.
    """
    result = Coverage(period=period, days_left=days_left(period, now))
    year = year_of(now)
    for h in households:
        result.households += 1
        last = h.last_visit_at
        if last is not None and last >= period.start:
            result.visited += 1
        elif is_overdue(h, period):
            result.overdue.append(h.id)
        if CARE_TAGS.intersection(h.tags):
            result.care_due += 1
            if h.last_care_at is not None and h.last_care_at >= year.start:
                result.care_done += 1
    return result


def is_overdue(h: HouseholdDuty, period: Period) -> bool:
    """Not visited in `period`, and it missed the whole previous period although it was on
    the roll then."""
    last, before = h.last_visit_at, previous(period)
    if last is not None and last >= period.start:
        return False
    return h.created_at < before.start and (last is None or last < before.start)


def duty_of(row: Mapping[str, Any]) -> HouseholdDuty:
    """What the duty engine needs of a stored household."""
    return HouseholdDuty(
        id=row["_id"],
        grid_code=row["grid_code"],
        created_at=row["created_at"],
        last_visit_at=row.get("last_visit_at"),
        last_care_at=row.get("last_care_at"),
        tags=tuple(row.get("tags", [])),
    )


def latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def iso(value: Any) -> Any:
    """A time as the API gives it (ISO 8601, UTC as stored); anything else as it is."""
    return value.isoformat() if isinstance(value, datetime) else value


# --- places (five-element archive: 人地事物组织) -------------------------------------------
def place_rule_problems(data: Mapping[str, Any]) -> dict[str, str]:
    """Field -> problem for a place beyond its schema's field limits: a location in range
    and a valid contact phone (a masked one stands for what is stored)."""
    problems: dict[str, str] = {}
    location = data.get("location")
    if location is not None:
        try:
            lon, lat = float(location[0]), float(location[1])
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                problems["location"] = f"({lon}, {lat}) is out of range"
        except (TypeError, ValueError, IndexError, KeyError):
            problems["location"] = "[longitude, latitude]"
    contact = data.get("contact") or {}
    phone = contact.get("phone") if isinstance(contact, Mapping) else None
    if phone and not is_masked(phone) and not PHONE.match(str(phone)):
        problems["contact.phone"] = "a mobile (11 digits) or landline number"
    return problems


def place_key(grid_code: str, kind: str, name: str) -> str:
    return f"{grid_code}|{kind}|{name.strip()}"
