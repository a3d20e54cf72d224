"""Imports: grids as GeoJSON; households, places and staff as CSV or XLSX.

Every row is judged before anything is written; a file with any bad row writes nothing
and its report names each bad row and why. A good file is written in one transaction,
matched on natural keys (grid code; address; grid + kind + name; grid + user + post), so
importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.caller import Caller
from contracts.errors import ValidationFailed
from contracts.grid_vocabulary import POST_LABELS, TAG_LABELS
from services.grid import divisions, domain, grids, households, party, places, posts, reserve
from services.grid.storage import GridStore, new_id
from services.grid.versions import Change
from services.kit.outbox import OutboxWriter

MAX_BAD_ROWS = 1000  # a report lists at most this many bad rows (and says how many more)

# Column names as they appear in real files (English or Chinese) -> field.
HOUSEHOLD_COLUMNS = {
    "grid_code": ("grid_code", "网格编码", "网格代码"),
    "building": ("building", "楼栋", "幢", "楼幢"),
    "unit": ("unit", "单元"),
    "room": ("room", "房号", "室", "门牌"),
    "tenure": ("tenure", "住房性质", "房屋性质"),
    "landlord": ("landlord", "房东"),
    "landlord_phone": ("landlord_phone", "房东电话"),
    "tags": ("tags", "标签", "户标签"),
    "note": ("note", "备注"),
    "name": ("name", "姓名"),
    "relation": ("relation", "与户主关系", "关系"),
    "id_number": ("id_number", "身份证号", "身份证号码", "公民身份号码"),
    "phone": ("phone", "手机号", "联系电话", "电话"),
    "birth_date": ("birth_date", "出生日期"),
    "gender": ("gender", "性别"),
}
HOUSEHOLD_REQUIRED = ("grid_code", "building", "room", "name", "relation")
PLACE_COLUMNS = {
    "grid_code": ("grid_code", "网格编码", "网格代码"),
    "kind": ("kind", "类型", "类别"),
    "name": ("name", "名称"),
    "address": ("address", "地址"),
    "lon": ("lon", "longitude", "经度"),
    "lat": ("lat", "latitude", "纬度"),
    "contact_person": ("contact_person", "联系人"),
    "contact_phone": ("contact_phone", "联系电话", "电话"),
    "note": ("note", "备注"),
}
PLACE_REQUIRED = ("grid_code", "kind", "name")
STAFF_COLUMNS = {
    "grid_code": ("grid_code", "网格编码", "网格代码"),
    "user_id": ("user_id", "用户编号", "用户id"),
    "username": ("username", "用户名", "账号"),
    "display_name": ("display_name", "姓名"),
    "phone": ("phone", "手机号", "联系电话", "电话"),
    "post": ("post", "岗位", "职务"),
    "ab": ("ab", "ab岗"),
}
STAFF_REQUIRED = ("grid_code", "user_id", "display_name", "post")

RELATION_ZH = {
    "户主": "head",
    "本人": "head",
    "配偶": "spouse",
    "妻": "spouse",
    "夫": "spouse",
    "子女": "child",
    "子": "child",
    "女": "child",
    "父母": "parent",
    "父亲": "parent",
    "母亲": "parent",
    "孙子女": "grandchild",
    "兄弟姐妹": "sibling",
    "租客": "tenant",
    "其他": "other",
}
TENURE_ZH = {"自有": "owned", "自住": "owned", "租住": "rented", "租赁": "rented", "其他": "other"}
GENDER_ZH = {"男": "M", "女": "F"}
TAG_BY_ZH = {zh: tag for tag, zh in TAG_LABELS.items()}
POST_BY_ZH = {zh: post for post, zh in POST_LABELS.items()}
PLACE_KIND_ZH = {
    "商铺": "shop",
    "门店": "shop",
    "企业": "enterprise",
    "学校": "school",
    "医院": "hospital",
    "市场": "market",
    "楼宇": "office_tower",
    "设施": "facility",
    "隐患点": "hazard_point",
    "社会组织": "organisation",
    "组织": "organisation",
    "党组织": "party_organisation",
}
TAG_SPLIT = re.compile(r"[;；,，、|\s]+")


# --- reading files ----------------------------------------------------------------------------
def decode_text(content: bytes) -> tuple[str, str]:
    """Text and the encoding found: UTF-8 with BOM, UTF-8, or GBK (read as GB18030)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8-sig"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gbk"
    except UnicodeDecodeError:
        raise ValidationFailed(
            details={"encoding": "the file is neither UTF-8 (with or without BOM) nor GBK"}
        ) from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(filename: str, content: bytes) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, encoding) of a CSV or the first sheet of an XLSX file."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or content[:4] == b"PK\x03\x04":
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:
            raise ValidationFailed(details={"file": f"not a readable XLSX file: {exc}"}) from None
        sheet = book.worksheets[0]
        rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
        encoding = "xlsx"
    else:
        text, encoding = decode_text(content)
        try:
            rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:
            raise ValidationFailed(details={"file": f"not a readable CSV file: {exc}"}) from None
    while rows and not any(rows[0]):
        rows.pop(0)
    if not rows:
        raise ValidationFailed(details={"file": "the file is empty"})
    return rows[0], rows[1:], encoding


def map_columns(
    header: list[str], columns: dict[str, tuple[str, ...]], required: Iterable[str]
) -> dict[str, int]:
    """field -> column index; ValidationFailed naming missing and unknown columns."""
    lookup = {alias.lower(): f for f, aliases in columns.items() for alias in aliases}
    found: dict[str, int] = {}
    unknown = []
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").lower()
        if not key:
            continue
        if key in lookup and lookup[key] not in found:
            found[lookup[key]] = i
        else:
            unknown.append(name)
    missing = [f for f in required if f not in found]
    if missing or unknown:
        problems = {}
        if missing:
            problems["missing_columns"] = missing
        if unknown:
            problems["unknown_columns"] = unknown
        problems["expected"] = {f: list(a) for f, a in columns.items()}
        raise ValidationFailed("the file's columns do not match", details={"columns": problems})
    return found


def table_records(
    header: list[str], rows: list[list[str]], columns: dict, required: Iterable[str]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, {field: text}) for each non-empty row."""
    index = map_columns(header, columns, required)
    for n, row in enumerate(rows, start=2):
        if not any(row):
            continue
        yield n, {f: (row[i] if i < len(row) else "") for f, i in index.items()}


# --- the plan of an import --------------------------------------------------------------------
# A file is written in one transaction (all or nothing). The embedded server slows sharply
# past ~10,000 households in one transaction (measured: 10,000 in 29 s; 20,000 not done in
# 7 minutes) and MongoDB limits a transaction to 60 s, so a bigger file is refused up front
# with a clear message instead of hanging the server. GRID_IMPORT_MAX_RECORDS overrides it.
# Each kind of record is written through its aggregate's one write path.
SAVES = {
    "grids": grids.save,
    "households": households.save,
    "places": places.save,
    "staff": posts.save,
}
MAX_RECORDS = int(os.environ.get("GRID_IMPORT_MAX_RECORDS", "10000"))


@dataclass
class Plan:
    kind: str
    rows: int = 0
    bad: dict[int, dict[str, str]] = field(default_factory=dict)
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)  # written through the aggregate

    def problem(self, row: int, where: str, what: str) -> None:
        self.bad.setdefault(row, {})[where] = what

    def report(self) -> dict:
        bad_rows = [{"row": r, "problems": p} for r, p in sorted(self.bad.items())]
        return {
            "kind": self.kind,
            "rows": self.rows,
            "bad_rows": bad_rows[:MAX_BAD_ROWS],
            "bad_row_count": len(bad_rows),
            "created": sum(d["version"] == 1 for d, _ in self.changes),
            "updated": sum(d["version"] > 1 for d, _ in self.changes),
            "unchanged": self.unchanged,
        }


class Importer:
    """Plans and applies imports against a GridStore (no nameko here: the benchmarks and
    the service use it alike)."""

    def __init__(
        self,
        store: GridStore,
        outbox: OutboxWriter,
        now: datetime,
        key: bytes,
        actor: str,
        producer: str = "grid",
        max_records: int | None = MAX_RECORDS,
    ):
        self.max_records = max_records
        self.store = store
        self.outbox = outbox
        self.now = now
        self.key = key
        self.actor = actor
        self.producer = producer
        self.changed_grids: list[tuple[str, dict | None, int]] = []

    # entry points
    def run(
        self,
        kind: str,
        filename: str,
        content: bytes,
        dry_run: bool = False,
        caller: Caller | None = None,
    ) -> dict:
        """Judge a file and, when every row is good and not `dry_run`, apply it whole.

        A file with any row whose grid code lies outside the caller's scopes raises
        ValidationFailed naming each such row, before anything else is judged (a trusted
        caller, the benchmarks say, reaches every grid)."""
        caller = caller or Caller.trusted(self.producer)
        digest = hashlib.sha256(kind.encode() + b"\0" + content).hexdigest()
        encoding = None
        located: list[tuple[list[int], str]]  # (rows, grid code) of every record
        if kind == "grids":
            features = parse_feature_collection(content)
            located = [([n], _feature_code(f)) for n, f in enumerate(features, start=1)]
            make = lambda: self.plan_grids(features)  # noqa: E731
        elif kind in ("households", "places", "staff"):
            header, rows, encoding = read_table(filename, content)
            if kind == "households":
                groups = list(household_records(header, rows))
                located = [(member_rows, str(d["grid_code"])) for _, member_rows, d in groups]
                make = lambda: self.plan_households(groups)  # noqa: E731
            else:
                read = place_records if kind == "places" else staff_records
                records = list(read(header, rows))
                located = [([n], str(d.get("grid_code") or "")) for n, d in records]
                planner = self.plan_places if kind == "places" else self.plan_staff
                make = lambda: planner(records)  # noqa: E731
        else:
            raise ValidationFailed(details={"kind": "one of grids, households, places, staff"})
        if self.max_records is not None and len(located) > self.max_records:
            raise ValidationFailed(
                details={
                    "file": f"{len(located)} records; at most {self.max_records} per file "
                    "(a file is written in one transaction): split it, by community say",
                    "max_records": self.max_records,
                }
            )
        self._check_scopes(kind, filename, encoding, located, caller)
        plan = make()
        report = {"file": filename, "encoding": encoding, **plan.report(), "applied": False}
        if plan.bad or dry_run:
            return report
        previous = self.store.import_record(digest)
        self.apply(plan)
        report["applied"] = True
        report["seen_before"] = previous is not None
        self.store.record_import(
            {
                "_id": digest,
                "kind": kind,
                "file": filename,
                "actor": self.actor,
                "at": self.now,
                "created": report["created"],
                "updated": report["updated"],
                "unchanged": report["unchanged"],
            }
        )
        return report

    def _check_scopes(
        self,
        kind: str,
        filename: str,
        encoding: str | None,
        located: list[tuple[list[int], str]],
        caller: Caller,
    ) -> None:
        """ValidationFailed with a report naming every row outside `scopes`: only those
        rows are reported, so nothing is said about grids the caller may not see. Rows
        without a grid code are left to the ordinary checks."""
        plan = Plan(kind)
        for rows, code in located:
            plan.rows += len(rows)
            if code and not caller.covers(code):
                for row in rows:
                    plan.problem(row, "grid_code", f"{code} lies outside your scopes")
        if plan.bad:
            raise ValidationFailed(
                f"{len(plan.bad)} rows outside the caller's scopes; nothing was imported",
                details={"file": filename, "encoding": encoding, **plan.report(), "applied": False},
            )

    def load_dataset(self, dataset: dict, user_ids: dict[str, str]) -> dict:
        """Divisions, grids, households, places, staff (and optional reserve, party) of a
        dataset dict, in that order; each part planned whole, then applied."""
        summary: dict[str, Any] = {}
        summary["divisions"] = self.put_divisions(dataset.get("divisions", []))
        steps = [
            ("grids", lambda: self.plan_grids(dataset.get("grids", {}).get("features", []))),
            (
                "households",
                lambda: self.plan_households(
                    (i + 1, [i + 1] * max(1, len(h.get("members") or [])), h)
                    for i, h in enumerate(dataset.get("households", []))
                ),
            ),
            (
                "places",
                lambda: self.plan_places(
                    (i + 1, p) for i, p in enumerate(dataset.get("places", []))
                ),
            ),
            (
                "staff",
                lambda: self.plan_staff(
                    (i + 1, {**_post_of(s), "user_id": _user_id(s, user_ids)})
                    for i, s in enumerate(dataset.get("staff", []))
                ),
            ),
        ]
        for name, make in steps:
            plan = make()
            if plan.bad:
                raise ValidationFailed(
                    f"the dataset's {name} have bad rows; nothing more was loaded",
                    details=plan.report(),
                )
            self.apply(plan)
            summary[name] = {k: plan.report()[k] for k in ("created", "updated", "unchanged")}
        at = {"now": self.now, "actor": self.actor}
        for member in dataset.get("reserve", []):
            self.store.put_reserve(reserve.record(member["grid_code"], member, **at))
        for unit in dataset.get("party_units", []):
            self.store.put_party_unit(party.unit_record(unit["grid_code"], unit, **at))
        return summary

    def put_divisions(self, given: list[dict]) -> dict:
        known = {d["_id"] for d in self.store.divisions_under()}
        counts: dict[str, int] = defaultdict(int)
        for doc in divisions.records(given, known, self.actor):
            counts[self.store.put_division(doc)] += 1
        return dict(counts)

    # applying
    def apply(self, plan: Plan) -> None:
        save = SAVES[plan.kind]
        if plan.changes:
            self.store.transaction(
                lambda session: save(self.store, self.outbox, session, plan.changes)
            )
        for doc, _ in plan.changes if plan.kind == "grids" else ():
            self.changed_grids.append((doc["_id"], doc.get("boundary"), doc["version"]))

    # grids
    def plan_grids(self, features: list[Any]) -> Plan:
        plan = Plan("grids")
        items: dict[str, tuple[int, dict, Any]] = {}
        for n, feature in enumerate(features, start=1):
            plan.rows += 1
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                plan.problem(n, "feature", "a GeoJSON Feature")
                continue
            props = dict(feature.get("properties") or {})
            data = {
                "code": str(props.get("code") or ""),
                "name": props.get("name"),
                "kind": props.get("kind") or "comprehensive",
                "dedicated_kind": props.get("dedicated_kind"),
                "level": props.get("level"),
                "boundary": feature.get("geometry"),
            }
            problems, shape = grids.judge(data)
            for where, what in problems.items():
                plan.problem(n, "geometry" if where == "boundary" else where, what)
            code = data["code"]
            if code in items:
                plan.problem(n, "code", f"{code} appears twice (also feature {items[code][0]})")
            if n not in plan.bad:
                items[code] = (n, data, shape)
        existing = self.store.grids_by_codes(items)
        for code, (n, _, _) in items.items():
            if (existing.get(code) or {}).get("retired"):
                plan.problem(
                    n, "code", f"{code} belonged to a retired grid; codes are never reused"
                )
        shapes = {code: shape for code, (_, _, shape) in items.items()}
        for misplaced in grids.placement(self.store, shapes):
            plan.problem(items[misplaced.code][0], misplaced.where, misplaced.message)
        for code, (n, data, shape) in items.items():
            if n in plan.bad:
                continue
            current = existing.get(code)
            new = grids.fields(data, shape)
            if current is None:
                doc = grids.record(code, new, now=self.now, actor=self.actor)
                plan.changes.append((doc, "created"))
            elif grids.changed(current, new):
                doc = grids.record(code, new, now=self.now, actor=self.actor, current=current)
                plan.changes.append((doc, "updated"))
            else:
                plan.unchanged += 1
        return plan

    # households
    def plan_households(self, records: Iterable[tuple[int, list[int], dict]]) -> Plan:
        """records: (first row, member rows, household dict) — rows name bad input."""
        plan = Plan("households")
        today = self.now.astimezone(domain.LOCAL).date()
        good: list[tuple[int, dict]] = []
        seen: dict[str, int] = {}
        for first, member_rows, data in records:
            plan.rows += len(member_rows)
            problems = households.problems(data, today)
            for where, what in problems.items():
                m = re.match(r"members\[(\d+)\]", where)
                i = int(m.group(1)) if m else -1
                row = member_rows[i] if 0 <= i < len(member_rows) else first
                plan.problem(row, where, what)
            if problems:
                continue
            key = households.address_key(data["grid_code"], data["address"])
            if key in seen:
                plan.problem(first, "address", f"the same home as row {seen[key]}")
                continue
            seen[key] = first
            good.append((first, data))
        found = self.store.grids_by_codes({d["grid_code"] for _, d in good})
        existing = self.store.households_by_keys(list(seen))
        for first, data in good:
            grid = found.get(data["grid_code"])
            if grid is None or grid.get("retired"):
                plan.problem(first, "grid_code", f"there is no grid {data['grid_code']}")
                continue
            current = existing.get(households.address_key(data["grid_code"], data["address"]))
            new = households.fields(data, current, self.key, new_id)
            if current is None or households.changed(current, new):
                doc = households.record(
                    new, now=self.now, actor=self.actor, new_id=new_id, current=current
                )
                plan.changes.append((doc, "created" if current is None else "updated"))
            else:
                plan.unchanged += 1
        return plan

    # places
    def plan_places(self, records: Iterable[tuple[int, dict]]) -> Plan:
        plan = Plan("places")
        good: list[tuple[int, dict]] = []
        seen: dict[str, int] = {}
        for n, data in records:
            plan.rows += 1
            problems = places.problems(data)
            for where, what in problems.items():
                plan.problem(n, where, what)
            if problems:
                continue
            key = places.key(data["grid_code"], data["kind"], data["name"])
            if key in seen:
                plan.problem(n, "name", f"the same place as row {seen[key]}")
                continue
            seen[key] = n
            good.append((n, data))
        found = self.store.grids_by_codes({d["grid_code"] for _, d in good})
        existing = self.store.places_by_keys(list(seen))
        for n, data in good:
            grid = found.get(data["grid_code"])
            if grid is None or grid.get("retired"):
                plan.problem(n, "grid_code", f"there is no grid {data['grid_code']}")
                continue
            outside = places.outside_grid(data, grid)
            if outside:
                plan.problem(n, "location", outside)
                continue
            current = existing.get(places.key(data["grid_code"], data["kind"], data["name"]))
            new = places.fields(data, current)
            if current is None or places.changed(current, new):
                doc = places.record(
                    new, now=self.now, actor=self.actor, new_id=new_id, current=current
                )
                plan.changes.append((doc, "created" if current is None else "updated"))
            else:
                plan.unchanged += 1
        return plan

    # staff
    def plan_staff(self, records: Iterable[tuple[int, dict]]) -> Plan:
        plan = Plan("staff")
        good: list[dict] = []
        records = list(records)
        found = self.store.grids_by_codes({str(d.get("grid_code") or "") for _, d in records})
        seen: dict[str, int] = {}
        for n, data in records:
            plan.rows += 1
            grid = found.get(str(data.get("grid_code") or ""))
            if grid is None or grid.get("retired"):
                plan.problem(n, "grid_code", f"there is no grid {data.get('grid_code')!r}")
                continue
            problems = posts.problems(data, grid["level"])
            for where, what in problems.items():
                plan.problem(n, where, what)
            if problems:
                continue
            new = posts.fields(data)
            key = posts.post_id(new["grid_code"], new["user_id"], new["post"])
            if key in seen:
                plan.problem(n, "post", f"the same post as row {seen[key]}")
                continue
            seen[key] = n
            good.append(new)
        existing = self.store.posts_by_ids(seen)
        for new in good:
            current = existing.get(posts.post_id(new["grid_code"], new["user_id"], new["post"]))
            if current is None or posts.changed(current, new):
                doc = posts.record(new, now=self.now, actor=self.actor, current=current)
                plan.changes.append((doc, "assigned"))
            else:
                plan.unchanged += 1
        return plan


def _feature_code(feature: Any) -> str:
    """The grid code a GeoJSON feature names ('' when it names none)."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    return str(props.get("code") or "") if isinstance(props, dict) else ""


def _post_of(staff: dict) -> dict:
    """A dataset's staff entry (it also names roles and scopes for identity) as a post."""
    return {k: staff.get(k) for k in posts.EDITABLE if k in staff}


def _user_id(staff: dict, user_ids: dict[str, str]) -> str | None:
    """The identity user id of a staff entry; the username stands in when none is known."""
    username = staff.get("username")
    return user_ids.get(username or "") or staff.get("user_id") or username


# --- turning rows into records ----------------------------------------------------------------
def parse_feature_collection(content: bytes) -> list[Any]:
    text, _ = decode_text(content)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(details={"file": f"not JSON: {exc}"}) from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationFailed(details={"file": "a GeoJSON FeatureCollection"})
    features = data.get("features")
    if not isinstance(features, list):
        raise ValidationFailed(details={"file": "features must be a list"})
    return features


def _split_tags(text: str) -> list[str]:
    return [TAG_BY_ZH.get(t, t) for t in TAG_SPLIT.split(text) if t]


def household_records(
    header: list[str], rows: list[list[str]]
) -> Iterator[tuple[int, list[int], dict]]:
    """One row per member; rows with the same grid and address make one household, whose
    own fields come from its first row (later rows may leave them empty)."""
    groups: dict[tuple, tuple[int, list[int], dict]] = {}
    for n, r in table_records(header, rows, HOUSEHOLD_COLUMNS, HOUSEHOLD_REQUIRED):
        key = (r["grid_code"], r["building"], r.get("unit", ""), r["room"])
        if key not in groups:
            tenure = r.get("tenure", "")
            groups[key] = (
                n,
                [],
                {
                    "grid_code": r["grid_code"],
                    "address": {
                        "building": r["building"],
                        "unit": r.get("unit", ""),
                        "room": r["room"],
                    },
                    "housing": {
                        "tenure": TENURE_ZH.get(tenure, tenure) or "owned",
                        "landlord": r.get("landlord") or None,
                        "landlord_phone": r.get("landlord_phone") or None,
                    },
                    "tags": _split_tags(r.get("tags", "")),
                    "note": r.get("note") or None,
                    "members": [],
                },
            )
        first, member_rows, data = groups[key]
        member_rows.append(n)
        relation = r["relation"]
        data["members"].append(
            {
                "name": r["name"],
                "relation": RELATION_ZH.get(relation, relation),
                "id_number": r.get("id_number") or None,
                "phone": r.get("phone") or None,
                "birth_date": r.get("birth_date") or None,
                "gender": GENDER_ZH.get(r.get("gender", ""), r.get("gender") or None),
            }
        )
    yield from groups.values()


def place_records(header: list[str], rows: list[list[str]]) -> Iterator[tuple[int, dict]]:
    for n, r in table_records(header, rows, PLACE_COLUMNS, PLACE_REQUIRED):
        location: Any = None
        if r.get("lon") or r.get("lat"):
            location = [r.get("lon"), r.get("lat")]
        yield (
            n,
            {
                "grid_code": r["grid_code"],
                "kind": PLACE_KIND_ZH.get(r["kind"], r["kind"]),
                "name": r["name"],
                "address": r.get("address") or None,
                "location": location,
                "contact": {
                    "person": r.get("contact_person") or None,
                    "phone": r.get("contact_phone") or None,
                },
                "note": r.get("note") or None,
            },
        )


def staff_records(header: list[str], rows: list[list[str]]) -> Iterator[tuple[int, dict]]:
    for n, r in table_records(header, rows, STAFF_COLUMNS, STAFF_REQUIRED):
        yield (
            n,
            {
                "grid_code": r["grid_code"],
                "user_id": r["user_id"],
                "username": r.get("username") or None,
                "display_name": r["display_name"],
                "phone": r.get("phone") or None,
                "post": POST_BY_ZH.get(r["post"], r["post"]),
                "ab": (r.get("ab") or "").upper() or None,
            },
        )
