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
    HOUSEHOLD_TAGS,
    PLACE_KINDS,
    POSTS,
    RELATIONS,
    TAG_LABELS,
    TENURES,
    VISIT_KINDS,
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
    if not str(data.get("name") or "").strip():
        problems["name"] = "required"
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
    if not id_number:
        return id_number
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def is_masked(value: str | None) -> bool:
    return bool(value) and "*" in str(value)


def check_household(data: Mapping[str, Any], today: date) -> dict[str, str]:
    """Field -> problem for a household file (address, members, housing, tags)."""
    problems: dict[str, str] = {}
    if not is_grid_code(str(data.get("grid_code") or "")):
        problems["grid_code"] = "a grid code such as 330424001001-001-01"
    address = data.get("address") or {}
    if not isinstance(address, Mapping):
        problems["address"] = "an object with building, unit and room"
        address = {}
    for part in ("building", "room"):
        value = str(address.get(part) or "").strip()
        if not value or len(value) > 40:
            problems[f"address.{part}"] = "required, at most 40 characters"
    if len(str(address.get("unit") or "")) > 40:
        problems["address.unit"] = "at most 40 characters"
    members = data.get("members")
    if not isinstance(members, list) or not members:
        problems["members"] = "at least one member"
        members = []
    heads = 0
    for i, member in enumerate(members):
        where = f"members[{i}]"
        if not isinstance(member, Mapping):
            problems[where] = "an object"
            continue
        name = str(member.get("name") or "").strip()
        if not name or len(name) > 30:
            problems[f"{where}.name"] = "a name of 1–30 characters"
        relation = member.get("relation", "other")
        heads += relation == "head"
        if relation not in RELATIONS:
            problems[f"{where}.relation"] = f"one of {list(RELATIONS)}"
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
    housing = data.get("housing") or {}
    if not isinstance(housing, Mapping):
        problems["housing"] = "an object with tenure and landlord"
        housing = {}
    if housing.get("tenure", "owned") not in TENURES:
        problems["housing.tenure"] = f"one of {list(TENURES)}"
    if housing.get("tenure") == "rented" and not str(housing.get("landlord") or "").strip():
        problems["housing.landlord"] = "a rented home names its landlord"
    tags = data.get("tags") or []
    unknown = [t for t in tags if t not in HOUSEHOLD_TAGS] if isinstance(tags, list) else tags
    if unknown:
        problems["tags"] = f"unknown tags {unknown}; known: {list(HOUSEHOLD_TAGS)}"
    return problems


def household_tags(data: Mapping[str, Any]) -> list[str]:
    """The tags a household carries: those given, plus what its housing implies."""
    tags = set(data.get("tags") or [])
    if (data.get("housing") or {}).get("tenure") == "rented":
        tags.add("rental_house")
    return sorted(tags)


def address_key(grid_code: str, address: Mapping[str, Any]) -> str:
    """One home is one household file: the natural key imports match on."""
    parts = [str(address.get(p) or "").strip() for p in ("building", "unit", "room")]
    return "|".join([grid_code, *parts])


# --- personal data ------------------------------------------------------------------------
# Roles that need phone numbers (and ID numbers where stored) of residents in their scope.
UNMASKED_ROLES = frozenset(
    {"grid_leader", "grid_worker", "community_admin", "town_admin", "county_admin"}
)


def may_unmask(roles: Iterable[str]) -> bool:
    return bool(UNMASKED_ROLES.intersection(roles))


# --- staff posts --------------------------------------------------------------------------
def check_post(data: Mapping[str, Any], level: int) -> dict[str, str]:
    problems: dict[str, str] = {}
    post = data.get("post")
    if post not in POSTS:
        problems["post"] = f"one of {list(POSTS)}"
    if not str(data.get("user_id") or "").strip():
        problems["user_id"] = "required"
    ab = data.get("ab")
    if ab not in (None, "", "A", "B"):
        problems["ab"] = "'A', 'B' or empty"
    elif ab and level == 1:
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
FINDING_KINDS = ("opinions", "hazards", "disputes")
FUTURE_SLACK = timedelta(minutes=5)  # phone clocks run a little fast


def check_visit(data: Mapping[str, Any], now: datetime) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not str(data.get("household_id") or ""):
        problems["household_id"] = "required"
    if data.get("kind") not in VISIT_KINDS:
        problems["kind"] = f"one of {list(VISIT_KINDS)}"
    occurred = data.get("occurred_at")
    try:
        at = parse_time(occurred) if occurred else now
        if at > now + FUTURE_SLACK:
            problems["occurred_at"] = "in the future"
        elif at < now - timedelta(days=366):
            problems["occurred_at"] = "more than a year ago"
    except ValueError:
        problems["occurred_at"] = "an ISO 8601 time with a time zone"
    findings = data.get("findings") or {}
    if not isinstance(findings, Mapping):
        problems["findings"] = f"an object with lists {list(FINDING_KINDS)}"
    else:
        for key, value in findings.items():
            if key not in FINDING_KINDS:
                problems[f"findings.{key}"] = f"unknown; known: {list(FINDING_KINDS)}"
            elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems[f"findings.{key}"] = "a list of texts"
    draft = data.get("case_draft")
    if draft is not None and (not isinstance(draft, Mapping) or not draft.get("title")):
        problems["case_draft"] = "an object with at least a title"
    if len(str(data.get("note") or "")) > 2000:
        problems["note"] = "at most 2000 characters"
    return problems


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
    prev = previous(period)
    year = year_of(now)
    for h in households:
        result.households += 1
        last = h.last_visit_at
        if last is not None and last >= period.start:
            result.visited += 1
        elif h.created_at < prev.start and (last is None or last < prev.start):
            result.overdue.append(h.id)
        if CARE_TAGS.intersection(h.tags):
            result.care_due += 1
            if h.last_care_at is not None and h.last_care_at >= year.start:
                result.care_done += 1
    return result


def latest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


# --- household records ----------------------------------------------------------------------
def member_record(
    given: Mapping[str, Any], previous: Mapping[str, Any] | None, key: bytes, new_id: str
) -> dict[str, Any]:
    """A stored member: the ID number kept only as a keyed hash and a masked form.

    A masked or missing ID number (or phone) in `given` keeps what `previous` held, so a
    worker can send back the masked file they were shown without losing data.
    """
    prev = previous or {}
    record: dict[str, Any] = {
        "id": prev.get("id") or new_id,
        "name": str(given.get("name") or "").strip(),
        "relation": given.get("relation") or "other",
        "gender": given.get("gender") or prev.get("gender"),
        "birth_date": str(given.get("birth_date") or "") or prev.get("birth_date"),
    }
    id_number = given.get("id_number")
    if id_number and not is_masked(id_number):
        number = normalise_id(str(id_number))
        record["id_hash"] = id_lookup_hash(number, key)
        record["id_masked"] = mask_id(number)
        record["birth_date"] = record["birth_date"] or (
            f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        )
        record["gender"] = record["gender"] or ("M" if int(number[16]) % 2 else "F")
    else:
        record["id_hash"] = prev.get("id_hash")
        record["id_masked"] = prev.get("id_masked")
    phone = given.get("phone")
    record["phone"] = prev.get("phone") if is_masked(phone) else (phone or None)
    return record


def household_fields(
    data: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    key: bytes,
    new_id: Any,
) -> dict[str, Any]:
    """The stored fields of a household from its input (and its earlier record)."""
    unused = list((previous or {}).get("members", []))
    members = []
    for given in data.get("members") or []:
        # match a member by id, else by name (imports carry no ids); each earlier one once
        wanted_id = str(given.get("id") or "")
        wanted_name = str(given.get("name") or "").strip()
        earlier = next((m for m in unused if wanted_id and m["id"] == wanted_id), None)
        if earlier is None:
            earlier = next((m for m in unused if m["name"] == wanted_name), None)
        if earlier is not None:
            unused.remove(earlier)
        members.append(member_record(given, earlier, key, new_id()))
    address = data.get("address") or {}
    address = {p: str(address.get(p) or "").strip() for p in ("building", "unit", "room")}
    housing = dict(data.get("housing") or {})
    tenure = housing.get("tenure") or "owned"
    prev_housing = (previous or {}).get("housing") or {}
    landlord_phone = housing.get("landlord_phone")
    if is_masked(landlord_phone):
        landlord_phone = prev_housing.get("landlord_phone")
    return {
        "grid_code": data["grid_code"],
        "address": address,
        "address_key": address_key(data["grid_code"], address),
        "members": members,
        "names": sorted({m["name"] for m in members}),
        "housing": {
            "tenure": tenure,
            "landlord": (housing.get("landlord") or None) if tenure == "rented" else None,
            "landlord_phone": landlord_phone if tenure == "rented" else None,
        },
        "tags": household_tags({"tags": data.get("tags"), "housing": {"tenure": tenure}}),
        "note": str(data.get("note") or "")[:500] or None,
    }


HOUSEHOLD_COMPARED = ("grid_code", "address", "members", "housing", "tags", "note")


def household_changed(previous: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return any(previous.get(k) != fields.get(k) for k in HOUSEHOLD_COMPARED)


def iso(value: Any) -> Any:
    """A time as the API gives it (ISO 8601, UTC as stored); anything else as it is."""
    return value.isoformat() if isinstance(value, datetime) else value


def household_view(doc: Mapping[str, Any], unmasked: bool) -> dict[str, Any]:
    """A household file as callers see it: phones masked unless `unmasked`; ID numbers
    are only ever held masked (the clear number is not stored, only its keyed hash)."""
    members = []
    for m in doc.get("members", []):
        members.append(
            {
                "id": m["id"],
                "name": m["name"],
                "relation": m.get("relation"),
                "gender": m.get("gender"),
                "birth_date": m.get("birth_date"),
                "id_number": m.get("id_masked"),
                "phone": m.get("phone") if unmasked else mask_phone(m.get("phone")),
            }
        )
    housing = dict(doc.get("housing") or {})
    if not unmasked:
        housing["landlord_phone"] = mask_phone(housing.get("landlord_phone"))
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "address": dict(doc.get("address") or {}),
        "members": members,
        "housing": housing,
        "tags": list(doc.get("tags", [])),
        "tags_zh": [TAG_LABELS.get(t, t) for t in doc.get("tags", [])],
        "note": doc.get("note"),
        "version": doc.get("version", 1),
        "created_at": iso(doc.get("created_at")),
        "updated_at": iso(doc.get("updated_at")),
        "last_visit_at": iso(doc.get("last_visit_at")),
        "last_care_at": iso(doc.get("last_care_at")),
        "masked": not unmasked,
    }


def household_line(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A household in a list: address, head's name, tags; no phones or ID numbers."""
    head = next((m for m in doc.get("members", []) if m.get("relation") == "head"), None)
    address = doc.get("address") or {}
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "address": dict(address),
        "label": address_label(address),
        "head": head["name"] if head else None,
        "members": len(doc.get("members", [])),
        "tags": list(doc.get("tags", [])),
        "version": doc.get("version", 1),
        "last_visit_at": iso(doc.get("last_visit_at")),
    }


def address_label(address: Mapping[str, Any]) -> str:
    building, unit, room = (str(address.get(p) or "") for p in ("building", "unit", "room"))
    return "".join(
        [f"{building}幢" if building else "", f"{unit}单元" if unit else "", f"{room}室"]
    )


# --- places (five-element archive: 人地事物组织) -------------------------------------------
def check_place(data: Mapping[str, Any]) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not is_grid_code(str(data.get("grid_code") or "")):
        problems["grid_code"] = "a grid code such as 330424001001-001-01"
    if data.get("kind") not in PLACE_KINDS:
        problems["kind"] = f"one of {list(PLACE_KINDS)}"
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 80:
        problems["name"] = "a name of 1–80 characters"
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
