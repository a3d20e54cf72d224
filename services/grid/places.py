"""Places and organisations of a grid (the five-element archive, 人地事物组织): shops,
schools, facilities, hazard points…, one record per grid, kind and name.

Its rules (schema, then domain.place_rule_problems; a location must lie inside its grid),
how a record is built and versioned (the contact phone sealed), what callers see (contact
phones masked unless the role needs them), its event and its one write path. The RPCs and
the importer use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from contracts.caller import Caller
from contracts.errors import AlreadyExists
from contracts.grid import PLACE_CHANGED, PlaceChanged
from contracts.grid_http import PlaceCreateIn
from contracts.grid_vocabulary import PLACE_ELEMENTS
from services.grid import domain, geometry, versions
from services.grid.vault import PHONE, Vault
from services.grid.versions import Change, Fields, NewId, Outbox, Stamp, stamped
from services.grid.versions import save as save_versions
from services.kit.inputs import problems as schema_problems

KEEP = "****"  # a masked phone: stands for the stored one


class Store(Protocol):
    def place(self, place_id: str, session: Any = None) -> dict | None: ...
    def places_by_keys(self, keys: list[str], session: Any = None) -> dict[str, dict]: ...
    def insert_places(self, docs: list[dict], session: Any) -> None: ...
    def replace_places(self, docs: list[dict], session: Any) -> list[str]: ...


def visible(store: Store, place_id: str, caller: Caller) -> dict:
    """The stored place, or NotFound (none, or outside the caller's scopes: alike)."""
    return versions.in_view(store.place(str(place_id)), caller, place_id=place_id)


def problems(data: Any) -> dict[str, str]:
    """Field -> problem for a place: its schema, then the domain's rules."""
    found = schema_problems(PlaceCreateIn(), data)
    if isinstance(data, Mapping):
        found = {**domain.place_rule_problems(data), **found}
    return found


def outside_grid(data: Mapping[str, Any], grid: Mapping[str, Any]) -> str | None:
    """Why the place's location cannot be in its grid (None when it can, or has none)."""
    location = data.get("location")
    if not location or not grid.get("boundary"):
        return None
    point = geometry.Point(float(location[0]), float(location[1]))
    if geometry.polygon_of(grid["boundary"]).intersects(point):
        return None
    return f"{list(location)} lies outside grid {grid['_id']}"


def key(grid_code: str, kind: str, name: str) -> str:
    """One place of a kind and name per grid: the natural key imports match on."""
    return f"{grid_code}|{kind}|{name.strip()}"


def fields(data: Mapping[str, Any], previous: Mapping[str, Any] | None, vault: Vault) -> dict:
    """The stored fields of a place from its checked input: the contact phone sealed (a
    masked one sent back keeps the stored one)."""
    contact = data.get("contact") or {}
    stored = ((previous or {}).get("contact") or {}).get("phone")
    phone = vault.kept(contact.get("phone"), stored, PHONE)
    location = data.get("location")
    return {
        "grid_code": data["grid_code"],
        "kind": data["kind"],
        "name": data["name"].strip(),
        "place_key": key(data["grid_code"], data["kind"], data["name"]),
        "address": data.get("address") or None,
        "location": [float(location[0]), float(location[1])] if location else None,
        "contact": {"person": contact.get("person") or None, "phone": phone},
        "note": data.get("note") or None,
    }


def record(new: Fields, at: Stamp, new_id: NewId, current: Fields | None = None) -> dict[str, Any]:
    """The stored place: new (`current` None) or the next version of `current`."""
    return stamped(current, new, at, None if current else {"_id": new_id()})


def as_input(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The stored place as input again (its phone masked: that keeps the stored one)."""
    contact = dict(doc.get("contact") or {})
    contact["phone"] = KEEP if contact.get("phone") else None
    return {k: doc.get(k) for k in ("grid_code", "kind", "name", "address", "location", "note")} | {
        "contact": contact
    }


def view(doc: Mapping[str, Any], unmasked: bool, vault: Vault) -> dict[str, Any]:
    contact = dict(doc.get("contact") or {})
    contact["phone"] = vault.shown(contact.get("phone"), PHONE, unmasked)
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "kind": doc["kind"],
        "element": PLACE_ELEMENTS.get(doc["kind"]),
        "name": doc["name"],
        "address": doc.get("address"),
        "location": doc.get("location"),
        "contact": contact,
        "note": doc.get("note"),
        "version": doc.get("version", 1),
    }


def resealed(doc: Mapping[str, Any], vault: Vault) -> dict[str, Any] | None:
    """The place with its contact phone under the current key; None when it already is."""
    contact = dict(doc.get("contact") or {})
    if not vault.stale(contact.get("phone")):
        return None
    return {**doc, "contact": {**contact, "phone": vault.carried(contact.get("phone"), PHONE)}}


def event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return PlaceChanged().dump(
        {
            "place_id": doc["_id"],
            "grid_code": doc["grid_code"],
            "kind": doc["kind"],
            "change": change,
            "version": doc["version"],
            "actor": doc["updated_by"],
        }
    )


def save(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    """Write places and their `place_changed` events."""
    save_versions(
        store.insert_places, store.replace_places, outbox, session, PLACE_CHANGED, event, changes
    )


def exists(doc: Mapping[str, Any]) -> AlreadyExists:
    return AlreadyExists(
        "a record of this kind and name exists in the grid",
        details={"grid_code": doc["grid_code"], "name": doc["name"]},
    )
