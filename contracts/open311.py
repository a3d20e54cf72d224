"""Open311 GeoReport v2: how the system looks to outside clients (the 12345 hotline, any
Open311 app). An adapter's contract only: the cases service knows nothing of these words.

- services ← categories (service_code = category code; attributes → the service definition);
- service requests ← cases, anonymous (the public view: no reporter, contact or free text;
  lat/long are the grid's centre), service_request_id = the case number, token = case id;
- a POSTed request → a report (address_id is a grid code: this system locates by grid);
- every answer as JSON or as XML (UTF-8, with the XML declaration), errors as the standard's
  list of {code, description} with the matching HTTP status.

Standard library only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json", "xml": "text/xml"}
MAX_REQUESTS = 1000  # the standard's cap on one GET requests answer
DEFAULT_DAYS = 90  # and its default window when no dates are given
# XML element names of the items inside each list root
ITEM_OF = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def service(category: Mapping[str, Any]) -> dict[str, Any]:
    """A category as an Open311 service (GET services)."""
    return {
        "service_code": category["code"],
        "service_name": category["name"],
        "description": category.get("description") or category["name"],
        "metadata": bool(category.get("attributes")),
        "type": "realtime",
        "keywords": ",".join(category.get("keywords") or []),
        "group": category.get("group_zh") or category["group"],
    }


def definition(category: Mapping[str, Any]) -> dict[str, Any]:
    """A category's extra fields as an Open311 service definition."""
    return {
        "service_code": category["code"],
        "attributes": [
            {
                "variable": True,
                "code": a["code"],
                "datatype": a["datatype"],
                "required": bool(a.get("required")),
                "datatype_description": None,
                "order": a.get("order", 1),
                "description": a["description"],
                **(
                    {"values": [{"key": v["key"], "name": v["name"]} for v in a["values"]]}
                    if a.get("values")
                    else {}
                ),
            }
            for a in category.get("attributes") or []
        ],
    }


def request(case: Mapping[str, Any]) -> dict[str, Any]:
    """An anonymous case (the cases service's public view) as an Open311 service request."""
    point = case.get("point") or [None, None]
    notes = {"cancelled": "不予立案", "merged": "已并案", "closed": "已办结", "evaluated": "已办结"}
    return {
        "service_request_id": case["number"],
        "status": case["status"],
        "status_notes": notes.get(case["state"], case.get("state_zh")),
        "service_name": case["category_name"],
        "service_code": case["category"],
        "description": case["category_name"],
        "agency_responsible": case.get("agency"),
        "service_notice": None,
        "requested_datetime": case.get("created_at"),
        "updated_datetime": case.get("updated_at"),
        "expected_datetime": case.get("deadline"),
        "address": case.get("grid_name"),
        "address_id": case.get("grid_code"),
        "zipcode": None,
        "lat": point[1],
        "long": point[0],
        "media_url": None,
    }


def created(case: Mapping[str, Any], notice: str) -> dict[str, Any]:
    """The answer to a POSTed request: its id (taken at once) and the token that finds it."""
    return {
        "service_request_id": case["number"],
        "token": case["id"],
        "service_notice": notice,
        "account_id": None,
    }


def token(case: Mapping[str, Any]) -> dict[str, Any]:
    return {"service_request_id": case["number"], "token": case["id"]}


def errors(status: int, descriptions: Sequence[str]) -> list[dict[str, Any]]:
    return [{"code": status, "description": d} for d in descriptions]


def attributes_of(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """`attribute[code]=v` (and `attribute[code][]=v` for lists) from a form, by code."""
    found: dict[str, Any] = {}
    for key, values in form.items():
        if not (key.startswith("attribute[") and "]" in key):
            continue
        code = key[len("attribute[") : key.index("]")]
        if key.endswith("[]"):
            found[code] = list(values)
        elif values:
            found[code] = values[-1]
    return found


def to_xml(root: str, data: Any) -> bytes:
    """The standard's XML: UTF-8 with its declaration, lists as repeated child elements,
    None as an empty element, booleans as true/false."""
    element = ET.Element(root)
    _fill(element, data)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list | tuple):
        item = ITEM_OF.get(element.tag, "item")
        for inner in value:
            _fill(ET.SubElement(element, item), inner)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)
