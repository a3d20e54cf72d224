"""Input through a schema, inside a service (DESIGN §3.1: schema in → domain → storage).

The gateway validates every body with the same contracts schema, but a service is called by
other services, tools and importers too: it loads what it is given once more, and works on
the loaded value only (what was checked is what is written).

    data = load(HouseholdCreateIn(), data)      # ValidationFailed {"members[0].phone": "…"}
    bad = problems(PostIn(), row)               # {} or {field: problem}, for import reports
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from contracts.errors import ValidationFailed


def load(schema: Schema, data: Any) -> Any:
    """`data` loaded through `schema`; ValidationFailed naming each bad field otherwise."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(details=flatten(exc.messages)) from None


def problems(schema: Schema, data: Any) -> dict[str, str]:
    """{field: problem} of `data` for `schema` ({} when it loads)."""
    try:
        schema.load(data)
    except ValidationError as exc:
        return flatten(exc.messages)
    return {}


def flatten(messages: Any, where: str = "") -> dict[str, str]:
    """marshmallow's nested messages as flat keys: {"members[0].phone": "…"}.

    A list of plain values reports on the list itself ("tags": "[1] Must be one of …"),
    a list of objects on each object's field.
    """
    if isinstance(messages, list):
        return {where or "_schema": "; ".join(str(m) for m in messages)}
    if not isinstance(messages, dict):
        return {where or "_schema": str(messages)}
    out: dict[str, str] = {}
    for key, value in messages.items():
        if isinstance(key, int):
            if isinstance(value, list):  # an item of a list of plain values
                text = f"[{key}] " + "; ".join(str(m) for m in value)
                out[where] = f"{out[where]}; {text}" if where in out else text
                continue
            path = f"{where}[{key}]"
        elif key == "_schema":
            path = where or "_schema"
        else:
            path = f"{where}.{key}" if where else str(key)
        out.update(flatten(value, path))
    return out
