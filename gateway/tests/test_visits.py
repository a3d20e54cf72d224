"""The visits blueprint (log, void, list, coverage) against a recording fake RPC."""

from __future__ import annotations

from contracts.errors import IdempotencyConflict, NotFound
from gateway.tests.answers import G1, G2, MICRO, assert_error

VISIT = {"household_id": "h1", "kind": "routine", "findings": {"opinions": ["楼道灯坏了"]}}


def test_a_visit_needs_a_client_id_and_a_visiting_role(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    missing = client.post("/api/v1/visits", json=VISIT, headers=worker)
    assert "client_id" in assert_error(missing, 400, "validation_failed")
    instructor = bearer("instructor", scopes=(G1,))
    body = {**VISIT, "client_id": "client-0001"}
    assert_error(client.post("/api/v1/visits", json=body, headers=instructor), 403, "forbidden")
    naive = {**body, "occurred_at": "2024-05-01T10:00:00"}
    answer = client.post("/api/v1/visits", json=naive, headers=worker)
    assert "occurred_at" in assert_error(answer, 400, "validation_failed")
    rpc.answer("grid", "log_visit", {"id": "v1", **VISIT, "grid_code": MICRO})
    aware = {**body, "occurred_at": "2024-05-01T10:00:00+08:00"}
    assert client.post("/api/v1/visits", json=aware, headers=worker).status_code == 201
    call = rpc.last("grid", "log_visit")
    assert call.args[0]["occurred_at"] == "2024-05-01T10:00:00+08:00" and call.args[1] == (
        "client-0001"
    )
    rpc.answer("grid", "log_visit", IdempotencyConflict(details={"client_id": "client-0001"}))
    again = client.post("/api/v1/visits", json=body, headers=worker)
    assert_error(again, 409, "idempotency_conflict")


def test_a_visit_is_voided_by_leaders_with_a_reason(client, rpc, bearer):
    path = "/api/v1/visits/v1/void"
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.post(path, json={"reason": "误登记"}, headers=worker), 403, "forbidden")
    leader = bearer("grid_leader", scopes=(G1,), sub="u-lead")
    empty = client.post(path, json={"reason": ""}, headers=leader)
    assert "reason" in assert_error(empty, 400, "validation_failed")
    voided = {"id": "v1", "voided": {"by": "u-lead", "reason": "误登记", "at": "…"}}
    rpc.answer("grid", "void_visit", voided)
    answer = client.post(path, json={"reason": "误登记"}, headers=leader)
    assert answer.status_code == 200 and answer.json["voided"]["reason"] == "误登记"
    call = rpc.last("grid", "void_visit")
    assert call.args == ("v1", "误登记") and call.kwargs["caller"].actor == "u-lead"
    rpc.answer("grid", "void_visit", NotFound(details={"visit_id": "v1"}))
    assert_error(client.post(path, json={"reason": "x"}, headers=leader), 404, "not_found")


def test_visits_are_listed_by_one_filter_and_coverage_is_scoped(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    nothing = client.get("/api/v1/visits", headers=worker)
    assert "grid_code" in assert_error(nothing, 400, "validation_failed")
    rpc.answer("grid", "list_visits", [])
    client.get("/api/v1/visits?household_id=h1&limit=5", headers=worker)
    call = rpc.last("grid", "list_visits")
    assert (call.kwargs["household_id"], call.kwargs["limit"]) == ("h1", 5)
    outside = client.get(f"/api/v1/grids/{G2}/visit-coverage", headers=worker)
    assert_error(outside, 404, "not_found")
