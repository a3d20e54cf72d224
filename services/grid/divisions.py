"""Administrative divisions (province 2, city 4, county 6, town 9, village 12 digits): the
names above the grids. They are keyed by code and renamed in place; no events.

Who may name which division is decided here and nowhere else (the gateway passes the
request through): codes below the city level must lie in the caller's scopes; provinces and
cities (2 and 4 digits) sit above every county and are shared by all of them, so only an
operator (or a trusted service) may create or rename one (issue 7 §8). Anyone allowed to
keep divisions may send one back as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from contracts.caller import Caller
from contracts.errors import Forbidden, ValidationFailed
from services.grid import domain

COMPARED = ("name", "level", "parent")


class Store(Protocol):
    def divisions_under(self, prefix: str | None = None) -> list[dict]: ...
    def put_division(self, doc: dict, session: Any = None) -> str: ...


SHARED_BY = "operator"  # the one role that names divisions shared by several counties


def require_writable(
    caller: Caller, given: Iterable[Mapping[str, Any]], known: Mapping[str, Mapping[str, Any]]
) -> None:
    """Forbidden for a division below the city level outside the caller's scopes, and for
    a new or renamed province or city unless the caller is an operator."""
    for item in given:
        code, name = str(item.get("code") or ""), str(item.get("name") or "").strip()
        if len(code) > 4:
            caller.require_writable(code, "code")
            continue
        unchanged = (known.get(code) or {}).get("name") == name
        if not unchanged and not (caller.is_trusted or caller.has_role(SHARED_BY)):
            raise Forbidden(
                "only an operator names provinces and cities: other counties share them",
                details={"code": code},
            )


def records(
    given: Sequence[Mapping[str, Any]], known: set[str], actor: str
) -> list[dict[str, Any]]:
    """The stored divisions for `given` [{code, name}] (parents first: a parent must exist
    or come in the same list); ValidationFailed naming each bad entry."""
    problems: dict[str, str] = {}
    known = set(known)
    docs = []
    for i, d in enumerate(sorted(given, key=lambda d: len(str(d.get("code"))))):
        code, name = str(d.get("code") or ""), str(d.get("name") or "").strip()
        level = domain.division_level(code)
        parent = domain.division_parent(code) if level else None
        if not level:
            problems[f"divisions[{i}].code"] = f"{code!r}: 2, 4, 6, 9 or 12 digits"
        elif parent and parent not in known and len(parent) > 4:
            problems[f"divisions[{i}].code"] = f"{code}: its parent {parent} does not exist"
        if not name:
            problems[f"divisions[{i}].name"] = "required"
        known.add(code)
        docs.append(
            {"_id": code, "name": name, "level": level, "parent": parent, "updated_by": actor}
        )
    if problems:
        raise ValidationFailed(details=problems)
    return docs


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": doc["_id"], "name": doc["name"], "level": doc["level"], "parent": doc["parent"]}
