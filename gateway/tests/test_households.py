"""The households blueprint (household files, places, the audit) against a recording fake
RPC: who may read and write resident data, query and body validation, error mapping."""

from __future__ import annotations

from contracts.errors import Conflict, NotFound
from gateway.tests.answers import G1, G2, MICRO, assert_error

BODY = {
    "grid_code": MICRO,
    "address": {"building": "1", "unit": "1", "room": "E2E-1"},
    "members": [{"name": "测试户主", "relation": "head", "phone": "13800000001"}],
    "housing": {"tenure": "owned"},
    "tags": ["elderly_alone"],
}


def test_residents_and_merchants_read_no_household_files(client, bearer):
    for role in ("resident", "merchant_staff"):
        assert_error(client.get("/api/v1/households", headers=bearer(role)), 403, "forbidden")
    assert_error(client.get("/api/v1/places/p-1", headers=bearer("resident")), 403, "forbidden")


def test_household_search_names_its_bad_queries(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    for query, field in (("tag=vip", "tag"), ("colour=red", "colour"), ("limit=lots", "limit")):
        answer = client.get(f"/api/v1/households?{query}", headers=worker)
        assert field in assert_error(answer, 400, "validation_failed")
    assert not rpc.calls
    rpc.answer("grid", "search_households", [{"id": str(i)} for i in range(3)])
    page = client.get("/api/v1/households?limit=2&offset=4&tag=hardship", headers=worker).json
    assert (len(page["items"]), page["next_offset"]) == (2, 6)
    call = rpc.last("grid", "search_households")
    assert (call.kwargs["limit"], call.kwargs["skip"], call.kwargs["tag"]) == (3, 4, "hardship")


def test_creating_a_household_validates_the_body_and_keys_the_client_id(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,), sub="u-a")
    unknown = client.post("/api/v1/households", json={**BODY, "colour": "red"}, headers=worker)
    assert "colour" in assert_error(unknown, 400, "validation_failed")
    twice = client.post(
        "/api/v1/households",
        json={**BODY, "client_id": "body-key-1"},
        headers={**worker, "Idempotency-Key": "header-key-1"},
    )
    assert "client_id" in assert_error(twice, 400, "validation_failed")
    rpc.answer("grid", "create_household", {"id": "h1", **BODY})
    created = client.post(
        "/api/v1/households", json=BODY, headers={**worker, "Idempotency-Key": "key-00001"}
    )
    assert created.status_code == 201
    call = rpc.last("grid", "create_household")
    assert call.args[1] == "key-00001" and call.kwargs["caller"].actor == "u-a"
    rpc.answer("grid", "create_household", NotFound(details={"grid_code": G2}))
    outside = client.post("/api/v1/households", json={**BODY, "grid_code": G2}, headers=worker)
    assert_error(outside, 404, "not_found")


def test_a_stale_household_update_is_409_with_the_file_as_stored(client, rpc, bearer):
    rpc.answer(
        "grid", "update_household", Conflict(details={"current": {"id": "h1", "version": 2}})
    )
    stale = client.patch(
        "/api/v1/households/h1", json={"version": 1, "note": "旧"}, headers=bearer("grid_worker")
    )
    assert assert_error(stale, 409, "conflict")["current"]["version"] == 2
    assert rpc.last("grid", "update_household").args == ("h1", {"note": "旧"}, 1)


def test_id_number_look_ups_keep_the_number_in_the_body(client, rpc, bearer):
    short = client.post(
        "/api/v1/households/find-by-id-number",
        json={"id_number": "1"},
        headers=bearer("grid_worker"),
    )
    assert "id_number" in assert_error(short, 400, "validation_failed")
    assert not rpc.calls


def test_places_are_listed_only_in_scope(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    outside = client.get(f"/api/v1/places?grid_code={G2}-01", headers=worker)
    assert_error(outside, 404, "not_found")
    assert not rpc.calls
    rpc.answer("grid", "list_places", [])
    client.get(f"/api/v1/places?grid_code={MICRO}&kind=shop", headers=worker)
    call = rpc.last("grid", "list_places")
    assert call.args == (MICRO,) and call.kwargs["kind"] == "shop"


def test_the_audit_is_for_operators_and_county_admins(client, rpc, bearer):
    assert_error(client.get("/api/v1/grid-audit", headers=bearer("grid_worker")), 403, "forbidden")
    rpc.answer("grid", "list_audit", [])
    client.get("/api/v1/grid-audit?kind=id_lookup&limit=5", headers=bearer("operator"))
    call = rpc.last("grid", "list_audit")
    assert (call.kwargs["kind"], call.kwargs["limit"]) == ("id_lookup", 5)


REVEAL = "/api/v1/households/h1/members/m1/reveal-id-number"


def test_a_full_id_number_is_revealed_to_admins_with_a_reason_and_never_cached(client, rpc, bearer):
    """Issue 7 §2: the reveal is one member at a time, for a role that needs it, with a
    reason; the service audits it, and the answer is not kept by any cache."""
    reason = {"reason": "核对低保补贴"}
    for role in ("grid_worker", "instructor", "resident", "operator"):
        assert_error(client.post(REVEAL, json=reason, headers=bearer(role)), 403, "forbidden")
    admin = bearer("community_admin", scopes=(G1,), sub="u-admin")
    for body in ({}, {"reason": " "}, {"reason": "x" * 201}, {**reason, "member_id": "m2"}):
        assert_error(client.post(REVEAL, json=body, headers=admin), 400, "validation_failed")
    assert not rpc.calls
    shown = {"household_id": "h1", "member_id": "m1", "name": "张伟", "id_number": "3" * 18}
    rpc.answer("grid", "reveal_id_number", shown)
    answer = client.post(REVEAL, json=reason, headers=admin)
    assert answer.status_code == 200 and answer.json == shown
    assert answer.headers["Cache-Control"] == "no-store"
    call = rpc.last("grid", "reveal_id_number")
    assert call.args == ("h1", "m1", "核对低保补贴") and call.kwargs["caller"].actor == "u-admin"
    rpc.answer("grid", "reveal_id_number", NotFound(details={"household_id": "h1"}))
    assert_error(client.post(REVEAL, json=reason, headers=admin), 404, "not_found")
