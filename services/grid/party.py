"""The party overlay (支部建在网格上, 党员联户): the party branch or group on a grid, and the
party members linked to the households they serve.

Both are records like every other (versioned, stamped with who changed them) written through
one path each, with their events: `save_units` (`party_unit_set`), `save_links` and
`remove_link` (`party_link_changed`: linked | unlinked, naming who). A member's phone is
sealed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from contracts.grid import PARTY_LINK_CHANGED, PARTY_UNIT_SET, PartyLinkChanged, PartyUnitSet
from services.grid import households
from services.grid.vault import PHONE, Vault
from services.grid.versions import Change, Fields, Outbox, Stamp, stamped
from services.grid.versions import remove as remove_version
from services.grid.versions import save as save_versions


class Store(Protocol):
    def party_unit(self, grid_code: str, session: Any = None) -> dict | None: ...
    def insert_party_units(self, docs: list[dict], session: Any) -> None: ...
    def replace_party_units(self, docs: list[dict], session: Any) -> list[str]: ...
    def party_units_under(self, prefix: str) -> list[dict]: ...
    def party_link(self, link_id: str, session: Any = None) -> dict | None: ...
    def insert_party_links(self, docs: list[dict], session: Any) -> None: ...
    def replace_party_links(self, docs: list[dict], session: Any) -> list[str]: ...
    def delete_party_link(self, link_id: str, session: Any = None) -> bool: ...
    def party_links_under(self, prefix: str) -> list[dict]: ...


# --- party units ---------------------------------------------------------------------------
def unit_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": data["kind"],
        "name": str(data["name"]).strip(),
        "secretary": data.get("secretary"),
        "secretary_user_id": data.get("secretary_user_id"),
    }


def unit_record(grid_code: str, new: Fields, at: Stamp, current: Fields | None = None) -> dict:
    """The stored unit of a grid (keyed by the grid's code)."""
    return stamped(current, new, at, None if current else {"_id": grid_code})


def unit_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    shown = ("kind", "name", "secretary", "secretary_user_id")
    return {"grid_code": doc["_id"], **{k: doc.get(k) for k in shown}}


def unit_event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return PartyUnitSet().dump(
        {
            "grid_code": doc["_id"],
            "kind": doc["kind"],
            "change": change,
            "version": doc["version"],
            "actor": doc["updated_by"],
        }
    )


def save_units(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    save_versions(
        store.insert_party_units,
        store.replace_party_units,
        outbox,
        session,
        PARTY_UNIT_SET,
        unit_event,
        changes,
    )


# --- a member's household links --------------------------------------------------------------
def member_key(member: Mapping[str, Any]) -> str:
    """A linked member is known by their user id, else by their name."""
    return str(member.get("user_id") or member["name"]).strip()


def link_id(grid_code: str, key: str) -> str:
    return f"{grid_code}|{key}"


def link_fields(
    grid_code: str,
    member: Mapping[str, Any],
    household_ids: list[str],
    previous: Mapping[str, Any] | None,
    vault: Vault,
) -> dict[str, Any]:
    return {
        "grid_code": grid_code,
        "member_name": str(member["name"]).strip(),
        "member_user_id": member.get("user_id"),
        "member_phone": vault.kept(
            member.get("phone"), (previous or {}).get("member_phone"), PHONE
        ),
        "household_ids": sorted(set(household_ids)),
    }


def link_record(new: Fields, at: Stamp, current: Fields | None = None) -> dict[str, Any]:
    key = str(new["member_user_id"] or new["member_name"]).strip()
    return stamped(current, new, at, None if current else {"_id": link_id(new["grid_code"], key)})


def link_event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return PartyLinkChanged().dump(
        {
            "grid_code": doc["grid_code"],
            "member_key": doc["_id"].split("|", 1)[1],
            "households": 0 if change == "unlinked" else len(doc["household_ids"]),
            "change": change,
            "actor": doc["updated_by"],
        }
    )


def save_links(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    save_versions(
        store.insert_party_links,
        store.replace_party_links,
        outbox,
        session,
        PARTY_LINK_CHANGED,
        link_event,
        changes,
    )


def remove_link(store: Store, outbox: Outbox, session: Any, doc: Mapping[str, Any], actor: str):
    """Unlink a member: the record goes, its event (unlinked) says who unlinked them."""
    delete = store.delete_party_link
    remove_version(delete, outbox, session, PARTY_LINK_CHANGED, link_event, doc, actor, "unlinked")


def resealed(doc: Mapping[str, Any], vault: Vault) -> dict[str, Any] | None:
    """The link with its member's phone under the current key; None when it already is."""
    if not vault.stale(doc.get("member_phone")):
        return None
    return {**doc, "member_phone": vault.carried(doc.get("member_phone"), PHONE)}


def overlay(store: Any, code: str) -> dict[str, Any]:
    """Party units on grids under `code` and the members' household links (`store`: a
    party.Store that is a households.Store too):
    {units: [{grid_code, kind, name, secretary}], links: [{grid_code, member, member_key,
    households: [{id, label}]}]}."""
    units = [
        {k: v for k, v in unit_view(u).items() if k != "secretary_user_id"}
        for u in store.party_units_under(code)
    ]
    links = []
    for link in store.party_links_under(code):
        found = store.households_by_ids(link["household_ids"])
        links.append(
            {
                "grid_code": link["grid_code"],
                "member": link["member_name"],
                "member_key": link.get("member_user_id") or link["member_name"],
                "households": [
                    {"id": hid, "label": households.address_label(found[hid]["address"])}
                    for hid in link["household_ids"]
                    if hid in found
                ],
            }
        )
    return {"units": units, "links": links}
