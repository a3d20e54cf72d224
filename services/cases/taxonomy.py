"""The taxonomy of cases: categories with stable codes, grouped as the digital city-management
standards do (components 部件, events 事件) and as the sources name them (DOMAIN §3), each with
a default handling level, working-hour limits per step and Open311 attributes.

A category's record, its view and the check of a report's attribute values live here; the
service seeds `DEFAULTS` on first start and operators add, edit and retire from there (a
code is never reused: a category is retired, not deleted).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from contracts.grid_vocabulary import VOCABULARY
from services.cases.workclock import hours_to_seconds

GROUP_LABELS: dict[str, str] = VOCABULARY["case_groups"]
KIND_LABELS: dict[str, str] = VOCABULARY["case_kinds"]


def _limits(register: float, dispatch: float, handle: float, verify: float, ack: float = 4):
    return {
        "register": register,
        "dispatch": dispatch,
        "handle": handle,
        "verify": verify,
        "acknowledge": ack,
    }


def _cat(code, name, group, kind, level, limits, attributes=(), keywords=(), auto=True):
    return {
        "code": code,
        "name": name,
        "group": group,
        "kind": kind,
        "level": level,
        "limits": limits,
        "description": "",
        "keywords": list(keywords),
        "attributes": list(attributes),
        "auto_dispatch": auto,
    }


QUICK = _limits(2, 2, 8, 8)
DAY = _limits(2, 2, 16, 8)
THREE_DAYS = _limits(4, 4, 24, 8)
WEEK = _limits(4, 4, 40, 16)
SIZE = {
    "code": "size",
    "description": "破损面积",
    "datatype": "singlevaluelist",
    "required": True,
    "order": 1,
    "values": [
        {"key": "small", "name": "小于1平方米"},
        {"key": "medium", "name": "1至5平方米"},
        {"key": "large", "name": "大于5平方米"},
    ],
}
POLE = {
    "code": "pole_number",
    "description": "灯杆编号（杆身上的数字）",
    "datatype": "string",
    "required": False,
    "order": 1,
}
PEOPLE = {
    "code": "people_involved",
    "description": "涉及人数",
    "datatype": "number",
    "required": False,
    "order": 1,
}

DEFAULTS: list[dict[str, Any]] = [
    # 事件 events
    _cat("neighbour_dispute", "邻里纠纷", "disputes", "event", "grid", THREE_DAYS, [PEOPLE]),
    _cat("family_dispute", "家庭矛盾", "disputes", "event", "grid", THREE_DAYS),
    _cat("property_dispute", "物业纠纷", "disputes", "event", "community", WEEK),
    _cat("labour_dispute", "劳资纠纷", "disputes", "event", "town", WEEK, [PEOPLE]),
    _cat("fire_hazard", "消防安全隐患", "safety_hazards", "event", "grid", DAY),
    _cat("ebike_charging", "电动车违规充电", "safety_hazards", "event", "grid", QUICK),
    _cat("corridor_clutter", "楼道堆物", "safety_hazards", "event", "grid", DAY),
    _cat("gas_hazard", "燃气安全隐患", "safety_hazards", "event", "community", QUICK),
    _cat("building_hazard", "房屋安全隐患", "safety_hazards", "event", "town", THREE_DAYS),
    _cat("garbage_piled", "垃圾堆放", "environment", "event", "grid", DAY),
    _cat("sewage_overflow", "污水外溢", "environment", "event", "community", DAY),
    _cat("noise", "噪声扰民", "environment", "event", "community", THREE_DAYS),
    _cat("suspicious_person", "可疑人员线索", "public_security", "event", "grid", QUICK),
    _cat("group_rental", "群租房", "public_security", "event", "community", WEEK),
    _cat("petition", "信访诉求", "petitions", "event", "town", WEEK, auto=False),
    _cat("elderly_help", "为老服务", "livelihood", "event", "grid", THREE_DAYS),
    _cat("errand_help", "代办服务", "livelihood", "event", "grid", THREE_DAYS),
    _cat("policy_inquiry", "政策咨询", "livelihood", "event", "community", THREE_DAYS),
    _cat("special_group_care", "特殊人群帮扶", "special_groups", "event", "grid", THREE_DAYS),
    _cat("population_change", "人口信息变动", "population", "event", "grid", WEEK),
    # 部件 components (public facilities)
    _cat("streetlight", "路灯损坏", "public_facilities", "component", "community", WEEK, [POLE]),
    _cat("manhole_cover", "井盖缺失破损", "public_facilities", "component", "department", QUICK),
    _cat("road_damage", "道路破损", "public_facilities", "component", "department", WEEK, [SIZE]),
    _cat("fitness_equipment", "健身器材损坏", "public_facilities", "component", "community", WEEK),
]


def record(data: Mapping[str, Any], now: datetime, actor: str, current=None) -> dict[str, Any]:
    """The stored category: new (`current` None) or the next version of `current`."""
    base = dict(current) if current else {"_id": data["code"], "retired": False, "version": 0}
    doc = {**base, **{k: v for k, v in data.items() if k != "version"}}
    doc["attributes"] = sorted(doc.get("attributes") or [], key=lambda a: (a["order"], a["code"]))
    doc["version"] = int(base.get("version", 0)) + 1
    doc["updated_at"] = now
    doc["updated_by"] = actor
    if current is None:
        doc["created_at"] = now
    return doc


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "code": doc["_id"],
        "name": doc["name"],
        "group": doc["group"],
        "group_zh": GROUP_LABELS.get(doc["group"], doc["group"]),
        "kind": doc["kind"],
        "kind_zh": KIND_LABELS.get(doc["kind"], doc["kind"]),
        "level": doc["level"],
        "limits": dict(doc["limits"]),
        "description": doc.get("description") or "",
        "keywords": list(doc.get("keywords") or []),
        "attributes": list(doc.get("attributes") or []),
        "auto_dispatch": bool(doc.get("auto_dispatch", True)),
        "retired": bool(doc.get("retired")),
        "version": doc["version"],
    }


def limit_seconds(doc: Mapping[str, Any]) -> dict[str, int]:
    return {step: hours_to_seconds(hours) for step, hours in doc["limits"].items()}


def attribute_problems(doc: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, str]:
    """{"attributes.<code>": problem} for a report's extra fields against its category."""
    problems: dict[str, str] = {}
    known = {a["code"]: a for a in doc.get("attributes") or []}
    for code in values:
        if code not in known:
            problems[f"attributes.{code}"] = "not a field of this category"
    for code, attr in known.items():
        value = values.get(code)
        where = f"attributes.{code}"
        if value in (None, "", []):
            if attr.get("required"):
                problems[where] = "required"
            continue
        kind = attr["datatype"]
        keys = {v["key"] for v in attr.get("values") or []}
        if kind in ("string", "text") and not (isinstance(value, str) and len(value) <= 2000):
            problems[where] = "text of at most 2000 characters"
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            problems[where] = "a number"
        elif kind == "datetime" and not _is_datetime(value):
            problems[where] = "an ISO 8601 date and time"
        elif kind == "singlevaluelist" and value not in keys:
            problems[where] = f"one of {sorted(keys)}"
        elif kind == "multivaluelist" and not (
            isinstance(value, list) and value and all(v in keys for v in value)
        ):
            problems[where] = f"a list of {sorted(keys)}"
    return problems


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
