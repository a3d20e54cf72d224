"""The party overlay (支部建在网格上, 党员联户): the party branch or group on a grid, and the
party members linked to the households they serve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from services.grid import households
from services.grid.versions import Stamp


class Store(Protocol):
    def put_party_unit(self, doc: dict, session: Any = None) -> None: ...
    def party_units_under(self, prefix: str) -> list[dict]: ...
    def put_party_link(self, doc: dict, session: Any = None) -> None: ...
    def delete_party_link(self, link_id: str, session: Any = None) -> bool: ...
    def party_links_under(self, prefix: str) -> list[dict]: ...


def unit_record(grid_code: str, data: Mapping[str, Any], at: Stamp) -> dict:
    return {
        "_id": grid_code,
        "kind": data["kind"],
        "name": str(data["name"]).strip(),
        "secretary": data.get("secretary"),
        "secretary_user_id": data.get("secretary_user_id"),
        "updated_at": at.now,
        "updated_by": at.actor,
    }


def unit_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    shown = ("kind", "name", "secretary", "secretary_user_id")
    return {"grid_code": doc["_id"], **{k: doc.get(k) for k in shown}}


def member_key(member: Mapping[str, Any]) -> str:
    """A linked member is known by their user id, else by their name."""
    return str(member.get("user_id") or member["name"]).strip()


def link_record(grid_code: str, member: Mapping[str, Any], household_ids: list[str], at: Stamp):
    return {
        "_id": f"{grid_code}|{member_key(member)}",
        "grid_code": grid_code,
        "member_name": str(member["name"]).strip(),
        "member_user_id": member.get("user_id"),
        "member_phone": member.get("phone"),
        "household_ids": sorted(set(household_ids)),
        "updated_at": at.now,
        "updated_by": at.actor,
    }


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
