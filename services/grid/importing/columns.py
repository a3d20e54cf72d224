"""Importing, part 2 of 4: rows to records. The column names and values real files use
(English or Chinese: 网格编码, 户主, 租住, 独居老人, 网格长…) mapped to the fields of each
kind of record, and rows grouped into records (a household file has one row per member).

A record says which rows it came from, so a report names the rows a problem is on. Nothing
here judges a value: the schemas and the aggregates do (plan.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from contracts.errors import ValidationFailed
from contracts.grid_vocabulary import (
    PLACE_KIND_LABELS,
    POST_LABELS,
    RELATION_LABELS,
    TAG_LABELS,
    TENURE_LABELS,
)
from services.grid.importing import decoding


@dataclass
class Record:
    """One record of a file: the rows (or feature numbers) it came from and its fields."""

    rows: list[int]
    data: Any
    parsed: dict[str, Any] | None = field(default=None)  # what its schema loaded

    @property
    def first(self) -> int:
        return self.rows[0]


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
    # what an export shows of a birth date; read and left alone (a birth date is kept from
    # the ID number or a birth_date column)
    "birth_year": ("birth_year", "出生年份"),
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


def _from_labels(labels: dict[str, str], **synonyms: str) -> dict[str, str]:
    """Chinese value -> code: the labels shown in the app, and what files also say."""
    return {zh: code for code, zh in labels.items()} | {zh: code for zh, code in synonyms.items()}


RELATION_ZH = _from_labels(
    RELATION_LABELS,
    本人="head",
    妻="spouse",
    夫="spouse",
    子="child",
    女="child",
    父亲="parent",
    母亲="parent",
    孙子女="grandchild",
    租客="tenant",
)
TENURE_ZH = _from_labels(TENURE_LABELS, 自有="owned", 自住="owned", 租赁="rented")
PLACE_KIND_ZH = _from_labels(PLACE_KIND_LABELS, 门店="shop", 组织="organisation")
TAG_BY_ZH = _from_labels(TAG_LABELS)
POST_BY_ZH = _from_labels(POST_LABELS)
GENDER_ZH = {"男": "M", "女": "F"}
TAG_SPLIT = re.compile(r"[;；,，、|\s]+")


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


def _split_tags(text: str) -> list[str]:
    return [TAG_BY_ZH.get(t, t) for t in TAG_SPLIT.split(text) if t]


def household_records(header: list[str], rows: list[list[str]]) -> list[Record]:
    """One row per member; rows with the same grid and address make one household, whose
    own fields come from its first row (later rows may leave them empty)."""
    groups: dict[tuple, Record] = {}
    for n, r in table_records(header, rows, HOUSEHOLD_COLUMNS, HOUSEHOLD_REQUIRED):
        key = (r["grid_code"], r["building"], r.get("unit", ""), r["room"])
        if key not in groups:
            tenure = r.get("tenure", "")
            groups[key] = Record(
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
        group = groups[key]
        group.rows.append(n)
        relation = r["relation"]
        group.data["members"].append(
            {
                "name": r["name"],
                "relation": RELATION_ZH.get(relation, relation),
                "id_number": r.get("id_number") or None,
                "phone": r.get("phone") or None,
                "birth_date": r.get("birth_date") or None,
                "gender": GENDER_ZH.get(r.get("gender", ""), r.get("gender") or None),
            }
        )
    return list(groups.values())


def place_records(header: list[str], rows: list[list[str]]) -> Iterator[Record]:
    for n, r in table_records(header, rows, PLACE_COLUMNS, PLACE_REQUIRED):
        location: Any = None
        if r.get("lon") or r.get("lat"):
            location = [r.get("lon"), r.get("lat")]
        yield Record(
            [n],
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


def staff_records(header: list[str], rows: list[list[str]]) -> Iterator[Record]:
    for n, r in table_records(header, rows, STAFF_COLUMNS, STAFF_REQUIRED):
        yield Record(
            [n],
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


def feature_records(features: list[Any]) -> list[Record]:
    """One record per GeoJSON feature, numbered from 1 (its schema judges its shape)."""
    return [Record([n], feature) for n, feature in enumerate(features, start=1)]


def dataset_records(items: Iterable[dict], members: bool = False) -> list[Record]:
    """Records of a dataset (dicts, not rows): numbered from 1; a household counts one row
    per member, as its file would."""
    out = []
    for i, item in enumerate(items, start=1):
        rows = [i] * max(1, len(item.get("members") or [])) if members else [i]
        out.append(Record(rows, item))
    return out


def read_records(
    kind: str, filename: str, content: bytes, limits: decoding.Limits
) -> tuple[list[Record], str | None]:
    """Parts 1 and 2: the file's records, and the encoding it was read in. Pure CPU and no
    I/O: the service runs it in a child process (`services/kit/isolated.py`)."""
    if kind == "grids":
        return feature_records(decoding.read_features(content)), None
    header, rows, encoding = decoding.read_table(filename, content, limits)
    read = {
        "households": household_records,
        "places": place_records,
        "staff": staff_records,
    }[kind]
    return list(read(header, rows)), encoding
