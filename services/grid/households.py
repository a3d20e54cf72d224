"""Household files (一户一档): one file per home, its members, housing and tags.

What a file must hold (its schema's field limits, then the rules in
domain.household_rule_problems), how it is built and versioned (`fields`, `record`), how
personal data is kept (an ID number as a keyed hash, a mask and a seal; phones and the
birth date sealed, vault.py; a masked value sent back keeps what is stored), what callers
see (`view`, phones masked unless their role needs them, ID numbers always, the birth year
only; `line` in lists; `reveal`, one member's full number), its event and its one write
path (`save`). The RPCs in rpc_households.py, the visits and the importer all go through
here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from contracts.caller import Caller
from contracts.errors import AlreadyExists, NotFound, ValidationFailed
from contracts.grid import HOUSEHOLD_CHANGED, HouseholdChanged
from contracts.grid_http import HouseholdCreateIn
from contracts.grid_vocabulary import TAG_LABELS
from services.grid import domain, versions
from services.grid.vault import BIRTH_DATE, ID_NUMBER, PHONE, Vault
from services.grid.versions import Change, Fields, NewId, Outbox, Stamp, stamped
from services.grid.versions import save as save_versions
from services.kit.inputs import problems as schema_problems


@dataclass(frozen=True)
class Search:
    """What a household search asks for, each optional: a member's name (its beginning),
    a tag, a building."""

    name: str | None = None
    tag: str | None = None
    building: str | None = None


class Store(Protocol):
    def household(self, household_id: str, session: Any = None) -> dict | None: ...
    def households_by_ids(self, ids: list[str]) -> dict[str, dict]: ...
    def households_by_keys(self, keys: list[str], session: Any = None) -> dict[str, dict]: ...
    def insert_households(self, docs: list[dict], session: Any) -> None: ...
    def replace_households(self, docs: list[dict], session: Any) -> list[str]: ...


KEEP = "****"  # a masked value: stands for what is stored


def visible(store: Store, household_id: str, caller: Caller) -> dict:
    """The stored file, or NotFound (none, or outside the caller's scopes: alike)."""
    return versions.in_view(store.household(str(household_id)), caller, household_id=household_id)


# --- rules ------------------------------------------------------------------------------------
def problems(data: Any, today: Any) -> dict[str, str]:
    """Field -> problem for a household file: its schema, then the domain's rules."""
    found = schema_problems(HouseholdCreateIn(), data)
    if isinstance(data, Mapping):
        found = {**domain.household_rule_problems(data, today), **found}
    return found


def require_valid(data: Any, now: datetime) -> None:
    found = problems(data, now.astimezone(domain.LOCAL).date())
    if found:
        raise ValidationFailed(details=found)


def tags_of(data: Mapping[str, Any]) -> list[str]:
    """The tags a household carries: those given, plus what its housing implies."""
    tags = set(data.get("tags") or [])
    if (data.get("housing") or {}).get("tenure") == "rented":
        tags.add("rental_house")
    return sorted(tags)


def address_key(grid_code: str, address: Mapping[str, Any]) -> str:
    """One home is one household file: the natural key imports match on."""
    parts = [str(address.get(p) or "").strip() for p in ("building", "unit", "room")]
    return "|".join([grid_code, *parts])


def address_label(address: Mapping[str, Any]) -> str:
    building, unit, room = (str(address.get(p) or "") for p in ("building", "unit", "room"))
    return "".join(
        [f"{building}幢" if building else "", f"{unit}单元" if unit else "", f"{room}室"]
    )


# --- the record -------------------------------------------------------------------------------
def member_record(
    given: Mapping[str, Any], previous: Mapping[str, Any] | None, vault: Vault, new_id: str
) -> dict[str, Any]:
    """A stored member: the ID number as a keyed hash (look-up), a mask (display) and a
    seal (the audited reveal), never in clear; phone and birth date sealed, the birth year
    in clear (all a view shows of the birth date).

    A masked or missing ID number (or a masked phone) in `given` keeps what `previous` held,
    so a worker can send back the masked file they were shown without losing data; so does
    a missing birth date.
    """
    prev = previous or {}
    record: dict[str, Any] = {
        "id": prev.get("id") or new_id,
        "name": str(given.get("name") or "").strip(),
        "relation": given.get("relation") or "other",
        "gender": given.get("gender") or prev.get("gender"),
    }
    id_number = given.get("id_number")
    number = None
    if id_number and not domain.is_masked(id_number):
        number = domain.normalise_id(str(id_number))
        record["id_hash"] = vault.id_hash(number)
        record["id_masked"] = domain.mask_id(number)
        record["id_sealed"] = vault.kept(number, prev.get("id_sealed"), ID_NUMBER)
        record["gender"] = record["gender"] or ("M" if int(number[16]) % 2 else "F")
    else:
        record["id_hash"] = prev.get("id_hash")
        record["id_masked"] = domain.mask_id(prev.get("id_masked"))
        record["id_sealed"] = vault.carried(prev.get("id_sealed"), ID_NUMBER)
    birth = str(given.get("birth_date") or "") or (number and domain.id_birth_date(number))
    if birth:
        record["birth_date"] = vault.kept(birth, prev.get("birth_date"), BIRTH_DATE)
        record["birth_year"] = domain.birth_year(birth)
    else:
        record["birth_date"] = vault.carried(prev.get("birth_date"), BIRTH_DATE)
        record["birth_year"] = prev.get("birth_year") or domain.birth_year(
            vault.opened(prev.get("birth_date"), BIRTH_DATE)
        )
    record["phone"] = vault.kept(given.get("phone"), prev.get("phone"), PHONE)
    return record


def fields(
    data: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    vault: Vault,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """The stored fields of a household from its checked input (and its earlier record)."""
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
        members.append(member_record(given, earlier, vault, new_id()))
    address = data.get("address") or {}
    address = {p: str(address.get(p) or "").strip() for p in ("building", "unit", "room")}
    housing = dict(data.get("housing") or {})
    tenure = housing.get("tenure") or "owned"
    prev_housing = (previous or {}).get("housing") or {}
    landlord_phone = vault.kept(
        housing.get("landlord_phone"), prev_housing.get("landlord_phone"), PHONE
    )
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
        "tags": tags_of({"tags": data.get("tags"), "housing": {"tenure": tenure}}),
        "note": str(data.get("note") or "")[:500] or None,
    }


changed = versions.changed  # a file changes when any of its stored fields would


def record(new: Fields, at: Stamp, new_id: NewId, current: Fields | None = None) -> dict[str, Any]:
    """The stored file: new (`current` None) or the next version of `current`."""
    first = None if current else {"_id": new_id(), "last_visit_at": None, "last_care_at": None}
    return stamped(current, new, at, first)


def as_input(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The stored file as input again: members keep their ids, and every personal value is
    masked, which keeps what is stored (nothing is opened to edit a file)."""
    members = [
        {
            "id": m["id"],
            "name": m["name"],
            "relation": m.get("relation"),
            "gender": m.get("gender"),
            "id_number": _kept(m.get("id_masked") or m.get("id_sealed")),
            "phone": _kept(m.get("phone")),
        }
        for m in doc["members"]
    ]
    housing = dict(doc.get("housing") or {})
    housing["landlord_phone"] = _kept(housing.get("landlord_phone"))
    return {
        "grid_code": doc["grid_code"],
        "address": dict(doc["address"]),
        "members": members,
        "housing": housing,
        "tags": list(doc.get("tags", [])),
        "note": doc.get("note"),
    }


def _kept(stored: Any) -> str | None:
    """The input that stands for a stored value (a mask keeps it), or None for none."""
    return KEEP if stored else None


# --- what callers see -------------------------------------------------------------------------
def view(doc: Mapping[str, Any], unmasked: bool, vault: Vault) -> dict[str, Any]:
    """A household file as callers see it: phones masked unless `unmasked`; ID numbers
    only masked and birth dates only as the year, whoever asks (issue 7 §2: neither may
    complete the other). The full ID number is `reveal`'s, one member at a time."""
    members = [_member(m, unmasked, vault) for m in doc.get("members", [])]
    housing = dict(doc.get("housing") or {})
    housing["landlord_phone"] = vault.shown(housing.get("landlord_phone"), PHONE, unmasked)
    return {
        **_summary(doc),
        "members": members,
        "housing": housing,
        "note": doc.get("note"),
        "created_at": domain.iso(doc.get("created_at")),
        "updated_at": domain.iso(doc.get("updated_at")),
        "last_care_at": domain.iso(doc.get("last_care_at")),
        "masked": not unmasked,
    }


def line(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A household in a list: address, head's name, tags; no phones or ID numbers."""
    head = next((m for m in doc.get("members", []) if m.get("relation") == "head"), None)
    return {
        **_summary(doc),
        "label": address_label(doc.get("address") or {}),
        "head": head["name"] if head else None,
        "members": len(doc.get("members", [])),
    }


def _member(m: Mapping[str, Any], unmasked: bool, vault: Vault) -> dict[str, Any]:
    """A member as shown (and as sent back): the ID number only masked, the birth year only."""
    return {
        "id": m["id"],
        "name": m["name"],
        "relation": m.get("relation"),
        "gender": m.get("gender"),
        "birth_year": birth_year_of(m),
        "id_number": domain.mask_id(m.get("id_masked")),
        "phone": vault.shown(m.get("phone"), PHONE, unmasked),
    }


def birth_year_of(m: Mapping[str, Any]) -> int | None:
    """A member's birth year (one kept from before birth dates were sealed: its date's)."""
    legacy = m.get("birth_date")
    return m.get("birth_year") or domain.birth_year(legacy if isinstance(legacy, str) else None)


def reveal(doc: Mapping[str, Any], member_id: str, vault: Vault) -> dict[str, Any]:
    """One member's full ID number, opened (the RPC checks the role and audits it first)."""
    member = next((m for m in doc.get("members", []) if m.get("id") == member_id), None)
    if member is None:
        raise NotFound(details={"member_id": member_id})
    number = vault.opened(member.get("id_sealed"), ID_NUMBER)
    if number is None:
        raise NotFound(
            "no full ID number is kept for this member: it was recorded before numbers were "
            "kept sealed, or never given",
            details={"member_id": member_id, "id_number": None},
        )
    return {
        "household_id": doc["_id"],
        "member_id": member_id,
        "name": member["name"],
        "id_number": number,
    }


def _summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a file and its line in a list both show."""
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "address": dict(doc.get("address") or {}),
        "tags": list(doc.get("tags", [])),
        "tags_zh": [TAG_LABELS.get(t, t) for t in doc.get("tags", [])],
        "version": doc.get("version", 1),
        "last_visit_at": domain.iso(doc.get("last_visit_at")),
    }


def resealed(doc: Mapping[str, Any], vault: Vault) -> dict[str, Any] | None:
    """The file with every sealed value under the current key (and what was kept in clear
    before encryption at rest sealed, older masks masked anew); None when nothing moves.
    For the re-key command: nothing a reader sees changes, so neither does the version."""
    members = []
    for m in doc.get("members", []):
        members.append(
            {
                **m,
                "id_masked": domain.mask_id(m.get("id_masked")),
                "id_sealed": vault.carried(m.get("id_sealed"), ID_NUMBER),
                "birth_year": birth_year_of(m),
                "birth_date": vault.carried(m.get("birth_date"), BIRTH_DATE),
                "phone": vault.carried(m.get("phone"), PHONE),
            }
        )
    housing = dict(doc.get("housing") or {})
    housing["landlord_phone"] = vault.carried(housing.get("landlord_phone"), PHONE)
    moved = {**doc, "members": members, "housing": housing}
    return None if moved == doc else moved


# --- the event and the one write path -----------------------------------------------------------
def event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return HouseholdChanged().dump(
        {
            "household_id": doc["_id"],
            "grid_code": doc["grid_code"],
            "change": change,
            "version": doc["version"],
            "tags": doc.get("tags", []),
            "actor": doc["updated_by"],
        }
    )


def save(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    """Write household files and their `household_changed` events."""
    save_versions(
        store.insert_households,
        store.replace_households,
        outbox,
        session,
        HOUSEHOLD_CHANGED,
        event,
        changes,
    )


def exists(doc: Mapping[str, Any]) -> AlreadyExists:
    """A second file for one home (the store's unique address key refused it)."""
    return AlreadyExists(
        "a household file already exists for this address",
        details={"address": doc["address"], "grid_code": doc["grid_code"]},
    )
