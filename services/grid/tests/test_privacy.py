"""Issue 7 in the grid service, with the unit fakes: numbers that cannot be rebuilt from what
is shown (§2), personal numbers sealed at rest (§2), the audited reveal (§2), exports whose
cells stay text (§3), and the smaller exposures (§8): shared divisions, the audit by scope,
posts as residents see them, reserve phones; and reserve and party changes that name who
made them."""

from __future__ import annotations

import base64
import csv
import io
import json
import re

import openpyxl
import pytest

from contracts.caller import Caller
from contracts.errors import Conflict, Forbidden, NotFound, ValidationFailed
from contracts.grid import PARTY_LINK_CHANGED, PARTY_UNIT_SET, RESERVE_CHANGED
from services.grid.tests.test_service import (
    ADMIN,
    L1,
    L2,
    L3,
    OTHER,
    SCOPES,
    WORKER,
    V,
    a_household,
    who,
)
from services.kit.sealing import is_sealed

ID = "330424198001010012"  # a_household's head
PHONE, LANDLORD = "13912345678", "13800000000"
COMMUNITY = who(ADMIN, "c-admin", ["community_admin"])
INSTRUCTOR = who(ADMIN, "i", ["instructor"])
LEADER = who(SCOPES, "lead", ["grid_leader"])
MASKED_ID = re.compile(r"\d{2}\*{12}[\dX]{4}")


def rented(**over):
    housing = {"tenure": "rented", "landlord": "王强", "landlord_phone": LANDLORD}
    return a_household(housing=housing, **over)


def rows_of(export: dict) -> list[list[str]]:
    content = base64.b64decode(export["content_b64"])
    if export["filename"].endswith(".csv"):
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [[c.value for c in row] for row in sheet.iter_rows()]


# --- §2: what is shown of a member never completes the ID number ---
def test_no_view_list_export_or_conflict_shows_the_birth_date_or_the_county_of_an_id(service):
    worker = who(SCOPES, "a", WORKER)
    created = service.create_household(rented(), "c-1", caller=worker)
    service.update_household(created["id"], {"note": "一"}, 1, caller=worker)
    with pytest.raises(Conflict) as stale:
        service.update_household(created["id"], {"note": "二"}, 1, caller=worker)
    shown = {
        "created": created,
        "worker": service.get_household(created["id"], caller=worker),
        "instructor": service.get_household(created["id"], caller=INSTRUCTOR),
        "conflict": stale.value.details,
        "search": service.search_households(caller=worker, name="张"),
        "look-up": service.find_by_id_number(ID, caller=worker),
    }
    for fmt in ("csv", "xlsx"):
        for who_ in (COMMUNITY, INSTRUCTOR):
            out = service.export_file("households", fmt, L1, caller=who_)
            shown[f"{fmt} by {who_.roles[0]}"] = rows_of(out)
    for where, what in shown.items():
        text = json.dumps(what, ensure_ascii=False)
        for part in (ID, ID[6:14], "1980-01-01", ID[:6] + "*"):
            assert part not in text, (where, part)
    member = shown["worker"]["members"][0]
    assert MASKED_ID.fullmatch(member["id_number"]) and member["birth_year"] == 1980
    assert "birth_date" not in member
    header, first = shown["csv by community_admin"][:2]
    assert first[header.index("id_number")] == "33************0012"
    assert first[header.index("birth_year")] == "1980"


# --- §2: sealed at rest ---
def test_every_stored_phone_id_number_and_birth_date_is_sealed(service):
    worker = who(SCOPES, "a", WORKER)
    h = service.create_household(rented(), "c-1", caller=worker)
    place = service.create_place(
        {"grid_code": L3, "kind": "shop", "name": "小卖部", "contact": {"phone": "13700000000"}},
        "p-1",
        caller=worker,
    )
    service.assign_post(
        {"grid_code": L2, "user_id": "c", "post": "part_time_worker", "display_name": "丙"}
        | {"phone": "13600000000"},
        caller=who(ADMIN),
    )
    service.add_reserve_member(
        L1, {"name": "志愿者", "kind": "volunteer", "phone": "13500000000"}, caller=LEADER
    )
    service.link_party_member(
        L1, {"name": "党员甲", "phone": "13400000000"}, [h["id"]], caller=LEADER
    )
    store, vault = service.store, service.vault
    stored = {
        "household": store.households_[h["id"]],
        "place": store.places_[place["id"]],
        "post": store.posts_[f"{L2}|c|part_time_worker"],
        "reserve": next(iter(store.reserve_.values())),
        "party": next(iter(store.party_links_.values())),
    }
    everything = json.dumps(stored, default=str, ensure_ascii=False)
    clear = (ID, ID[6:14], "1980-01-01", PHONE, LANDLORD, *(f"13{n}00000000" for n in "7654"))
    for text in clear:
        assert text not in everything, text
    member = stored["household"]["members"][0]
    sealed = [member["id_sealed"], member["phone"], member["birth_date"]]
    sealed += [stored["household"]["housing"]["landlord_phone"]]
    sealed += [stored["place"]["contact"]["phone"], stored["post"]["phone"]]
    sealed += [stored["reserve"]["phone"], stored["party"]["member_phone"]]
    assert all(is_sealed(v) and v["kid"] == "k-test" for v in sealed)
    assert member["id_hash"] and member["birth_year"] == 1980
    assert vault.opened(member["id_sealed"], "id_number") == ID
    assert vault.opened(member["birth_date"], "birth_date") == "1980-01-01"
    # what the roles that need them see is the clear number, opened
    assert service.get_household(h["id"], caller=worker)["housing"]["landlord_phone"] == LANDLORD
    assert service.list_posts(L2, caller=who(ADMIN, "x", WORKER))[-1]["phone"] == "13600000000"
    # a file sent back as shown keeps every seal: nothing changes
    file = service.get_household(h["id"], caller=INSTRUCTOR)
    again = service.update_household(
        h["id"], {"members": file["members"], "housing": file["housing"]}, 1, caller=worker
    )
    assert again["version"] == 1 and store.households_[h["id"]]["members"][0] == member


# --- §2: the audited reveal of one member's full number ---
def test_a_full_id_number_is_revealed_to_admins_with_a_reason_and_audited(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    member_id = h["members"][0]["id"]
    audits = len(service.store.audit_)
    for refused in (who(SCOPES, "a", WORKER), INSTRUCTOR):
        with pytest.raises(Forbidden):
            service.reveal_id_number(h["id"], member_id, "核对补贴", caller=refused)
    for reason in ("", "  ", None, "x" * 201):
        with pytest.raises(ValidationFailed):
            service.reveal_id_number(h["id"], member_id, reason, caller=COMMUNITY)
    with pytest.raises(NotFound):  # another community's admin: nothing is there for them
        service.reveal_id_number(
            h["id"], member_id, "核对补贴", caller=who([f"{V[:-1]}2"], "z", ["community_admin"])
        )
    with pytest.raises(NotFound):
        service.reveal_id_number(h["id"], "no-such-member", "核对补贴", caller=COMMUNITY)
    assert len(service.store.audit_) == audits  # nothing revealed, nothing audited

    shown = service.reveal_id_number(h["id"], member_id, " 核对低保补贴 ", caller=COMMUNITY)
    assert shown == {
        "household_id": h["id"],
        "member_id": member_id,
        "name": "张伟",
        "id_number": ID,
    }
    entry = service.store.audit_[-1]
    assert (entry["kind"], entry["actor"], entry["record_id"]) == (
        "id_revealed",
        "c-admin",
        h["id"],
    )
    assert entry["scope"] == L3 and entry["detail"]["reason"] == "核对低保补贴"
    assert entry["detail"]["member_id"] == member_id
    assert [e["kind"] for e in service.list_audit(kind="id_revealed", caller=who(ADMIN))] == [
        "id_revealed"
    ]
    # a member recorded before numbers were kept sealed has no full number to reveal
    service.store.households_[h["id"]]["members"][0].pop("id_sealed")
    with pytest.raises(NotFound):
        service.reveal_id_number(h["id"], member_id, "核对补贴", caller=COMMUNITY)


def test_the_demo_data_loaded_again_seals_what_was_kept_before_in_clear(service):
    """Records kept before encryption at rest (a hash and a mask; phones and birth dates in
    clear) get their sealed values from the dataset that knows them; a third load is a
    no-op."""
    loader = Caller.trusted("demo")
    dataset = {"households": [rented()]}
    service.load_dataset(dataset, caller=loader)
    (doc,) = service.store.households_.values()
    member = doc["members"][0]
    member.update(birth_date="1980-01-01", phone=PHONE, id_masked="330424********0012")
    member.pop("id_sealed")
    member.pop("birth_year")
    doc["housing"]["landlord_phone"] = LANDLORD
    legacy = service.get_household(doc["_id"], caller=LEADER)  # still shown as it should be
    assert legacy["members"][0]["id_number"] == "33************0012"
    assert legacy["members"][0]["birth_year"] == 1980 and legacy["members"][0]["phone"] == PHONE
    assert service.load_dataset(dataset, caller=loader)["households"]["updated"] == 1
    member = service.store.households_[doc["_id"]]["members"][0]
    assert service.vault.opened(member["id_sealed"], "id_number") == ID
    assert is_sealed(member["phone"]) and is_sealed(member["birth_date"])
    assert member["id_masked"] == "33************0012"
    assert service.load_dataset(dataset, caller=loader)["households"]["unchanged"] == 1


# --- §3: exported cells stay text ---
def test_exports_write_formula_like_text_as_text_and_import_again_unchanged(service):
    formula = '=HYPERLINK("http://evil.example","点我")'
    data = rented(note=formula)
    data["housing"]["landlord"] = "@SUM(1+1)"
    service.create_household(data, "c-1", caller=who(SCOPES, "a", WORKER))
    out = service.export_file("households", "csv", L1, caller=COMMUNITY)
    header, first = rows_of(out)[:2]
    assert first[header.index("note")] == "'" + formula
    assert first[header.index("landlord")] == "'@SUM(1+1)"
    xlsx = service.export_file("households", "xlsx", L1, caller=COMMUNITY)
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content_b64"])))
    note = sheet.worksheets[0].cell(row=2, column=header.index("note") + 1)
    assert (note.value, note.data_type) == (formula, "s")  # a string, never a formula
    for export in (out, xlsx):
        report = service.import_file(
            "households", export["filename"], export["content_b64"], caller=COMMUNITY
        )
        assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 1)


# --- §8: provinces and cities are the operators' ---
def test_only_an_operator_creates_or_renames_a_province_or_city(service):
    operator = who(["330424"], "op", ["operator"])
    county = who(["330424"], "cty", ["county_admin"])
    assert service.put_divisions([{"code": "3304", "name": "嘉兴市"}], caller=operator) == {
        "created": 1
    }
    for items in ([{"code": "3304", "name": "改名市"}], [{"code": "3305", "name": "湖州市"}]):
        with pytest.raises(Forbidden):
            service.put_divisions(items, caller=county)
    assert service.store.divisions_["3304"]["name"] == "嘉兴市" and "3305" not in (
        service.store.divisions_
    )
    same = [{"code": "3304", "name": "嘉兴市"}, {"code": "330424", "name": "海盐县"}]
    assert service.put_divisions(same, caller=county)["created"] == 1  # the county itself
    service.put_divisions([{"code": "3304", "name": "嘉兴"}], caller=operator)
    assert service.store.divisions_["3304"]["name"] == "嘉兴"


# --- §8: the audit is read by scope, in the database ---
def test_the_audit_shows_each_reader_their_scopes_entries_before_the_limit(service):
    # created by a worker and read by a leader: two unmasked reads, each about L3
    mine = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    service.get_household(mine["id"], caller=LEADER)
    neighbour = who([OTHER], "n", ["grid_leader"])
    for _ in range(3):  # newer entries about the neighbouring grid
        service.find_by_id_number(ID, caller=neighbour)
    entries = service.list_audit(limit=2, caller=who(SCOPES))
    assert [(e["kind"], e["scope"]) for e in entries] == [("household_unmasked", L3)] * 2
    theirs = service.list_audit(limit=5, caller=who([OTHER]))
    assert [e["kind"] for e in theirs] == ["id_lookup"] * 3
    assert {e["scope"] for e in theirs} == {OTHER}
    assert len(service.list_audit(limit=10, caller=who(ADMIN))) == 5  # the community sees all


# --- §8: residents see staff as the notice board shows them ---
def test_residents_read_posts_as_the_notice_board_shows_them(service):
    resident = who(ADMIN, "r", ["resident"])
    public = service.list_posts(L2, caller=resident)
    assert public and all(
        set(p) == {"grid_code", "grid_name", "display_name", "post", "post_zh", "ab", "phone"}
        for p in public
    )
    assert not service.posts_of_user("a", caller=resident)[0].get("user_id")
    staff = service.list_posts(L2, caller=who(ADMIN, "x", WORKER))
    assert {p["user_id"] for p in staff} == {"a", "b"}
    duty = service.on_duty(L3, caller=resident)
    assert duty["display_name"] == "a" and "user_id" not in duty and "username" not in duty
    assert service.on_duty(L3, caller=who(ADMIN, "x", WORKER))["user_id"] == "a"


# --- §8: reserve phones masked unless needed, every unmasked read audited ---
def test_reserve_phones_are_masked_for_instructors_and_audited_when_shown(service):
    service.add_reserve_member(
        L1, {"name": "王医生", "kind": "doctor", "phone": "13500000000"}, caller=LEADER
    )
    audits = len(service.store.audit_)
    (seen,) = service.list_reserve(L1, caller=INSTRUCTOR)
    assert seen["phone"] == "135****0000" and len(service.store.audit_) == audits
    (shown,) = service.list_reserve(L1, caller=LEADER)
    assert shown["phone"] == "13500000000"
    entry = service.store.audit_[-1]
    assert (entry["kind"], entry["actor"], entry["scope"]) == ("reserve_unmasked", "lead", L1)


# --- reserve and party changes name who made them ---
def test_reserve_and_party_changes_are_events_naming_who_made_them(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    member = {"name": "志愿者", "kind": "volunteer", "phone": "13500000000"}
    added = service.add_reserve_member(L1, member, caller=LEADER)
    assert service.add_reserve_member(L1, member, caller=LEADER)["change"] == "unchanged"
    service.remove_reserve_member(L1, added["id"], caller=who(SCOPES, "lead2", ["grid_leader"]))
    with pytest.raises(NotFound):
        service.remove_reserve_member(L1, added["id"], caller=LEADER)
    assert [(p["change"], p["actor"]) for p in service.outbox.of(RESERVE_CHANGED)] == [
        ("added", "lead"),
        ("removed", "lead2"),
    ]
    unit = {"kind": "group", "name": "第一网格党小组"}
    service.set_party_unit(L1, unit, caller=who(ADMIN, "c-admin"))
    service.set_party_unit(L1, unit, caller=who(ADMIN, "c-admin"))  # the same: one event
    assert [p["actor"] for p in service.outbox.of(PARTY_UNIT_SET)] == ["c-admin"]
    service.link_party_member(L1, {"name": "党员甲", "user_id": "p1"}, [h["id"]], caller=LEADER)
    service.unlink_party_member(L1, "p1", caller=who(SCOPES, "lead2"))
    assert [
        (p["change"], p["member_key"], p["households"], p["actor"])
        for p in service.outbox.of(PARTY_LINK_CHANGED)
    ] == [("linked", "p1", 1, "lead"), ("unlinked", "p1", 0, "lead2")]
