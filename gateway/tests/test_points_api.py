"""The points blueprint through the test client: roles, validation before any RPC, the
caller passed, error mapping (each points error a clear 4xx in Chinese), files."""

from __future__ import annotations

import base64

import pytest

from contracts.errors import (
    AlreadyAwarded,
    FundShort,
    IdempotencyConflict,
    InsufficientPoints,
    OutOfStock,
    OverLimit,
    PeriodClosed,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
)

V = "330424001001"
RECEIPT = {"id": "t1", "total": 40, "lines": []}


def test_a_worker_reads_points_and_fetches_codes(client, rpc, bearer):
    rpc.answer("points", "my_points", {"available": 12})
    assert client.get("/api/v1/points/me", headers=bearer("grid_worker")).json == {"available": 12}
    rpc.answer("points", "issue_tokens", lambda count, name, caller: {"tokens": [count, name]})
    answer = client.post(
        "/api/v1/points/me/tokens", json={"count": 3}, headers=bearer("grid_worker", sub="u-9")
    )
    assert answer.json == {"tokens": [3, "u-9"]}
    assert rpc.last("points", "issue_tokens").kwargs["caller"].actor == "u-9"
    assert client.post("/api/v1/points/me/tokens", headers=bearer("grid_worker")).status_code == 200
    for bad in ({"count": 0}, {"count": 11}, {"count": 2.5}, {"count": "3"}, {"n": 1}):
        answer = client.post("/api/v1/points/me/tokens", json=bad, headers=bearer("grid_worker"))
        assert answer.status_code == 400, bad
    assert (
        client.post("/api/v1/points/me/tokens", json={}, headers=bearer("resident")).status_code
        == 403
    )


def test_the_till_validates_before_it_calls(client, rpc, bearer):
    rpc.answer("points", "redeem", RECEIPT)
    cashier = bearer("merchant_staff")
    good = {"shop_id": "s1", "token": "LX1.a.b.c.d", "items": [{"item_id": "i1", "qty": 2}]}
    answer = client.post("/api/v1/points/redemptions", json=good, headers=cashier)
    assert answer.status_code == 201 and answer.json["total"] == 40
    call = rpc.last("points", "redeem")
    assert call.args == ("s1", {"token": "LX1.a.b.c.d"}, [{"item_id": "i1", "qty": 2}])
    calls = len(rpc.calls)
    bad_bodies = [
        {**good, "items": [{"item_id": "i1", "qty": -1}]},
        {**good, "items": [{"item_id": "i1", "qty": 1.5}]},
        {**good, "items": [{"item_id": "i1", "qty": "2"}]},
        {**good, "items": []},
        {**good, "code": "12345678"},  # both a token and a code
        {"shop_id": "s1", "items": good["items"]},  # neither
        {**good, "extra": 1},
    ]
    for body in bad_bodies:
        answer = client.post("/api/v1/points/redemptions", json=body, headers=cashier)
        assert answer.status_code == 400, body
        assert answer.json["error"] == "validation_failed"
    assert client.post("/api/v1/points/redemptions", data="", headers=cashier).status_code == 400
    assert len(rpc.calls) == calls  # nothing reached the service
    worker = client.post("/api/v1/points/redemptions", json=good, headers=bearer("grid_worker"))
    assert worker.status_code == 403


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (TokenInvalid(), 400, "redemption_code_invalid"),
        (TokenExpired(), 400, "redemption_code_expired"),
        (TokenUsed(), 409, "redemption_code_used"),
        (InsufficientPoints(details={"available": 10, "needed": 40}), 409, "insufficient_points"),
        (OutOfStock(), 409, "out_of_stock"),
        (OverLimit(), 409, "over_limit"),
    ],
)
def test_till_errors_are_clear_4xx_in_chinese(client, rpc, bearer, error, status, code):
    rpc.answer("points", "redeem", error)
    body = {"shop_id": "s1", "code": "1234 5678", "items": [{"item_id": "i1", "qty": 1}]}
    answer = client.post("/api/v1/points/redemptions", json=body, headers=bearer("merchant_staff"))
    assert answer.status_code == status and answer.json["error"] == code
    assert answer.json["message"] and not answer.json["message"].isascii()
    if code == "insufficient_points":
        assert answer.json["message"] == "积分不足：可用 10 分，需要 40 分"


def test_top_ups_need_a_client_id_and_whole_points(client, rpc, bearer):
    rpc.answer("points", "top_up", lambda v, pts, cid, caller: {"fund": pts, "cid": cid})
    admin = bearer("community_admin", scopes=(V,))
    url = f"/api/v1/points/villages/{V}/topups"
    answer = client.post(url, json={"points": 500, "client_id": "topup-0001"}, headers=admin)
    assert answer.status_code == 201 and answer.json == {"fund": 500, "cid": "topup-0001"}
    assert client.post(url, json={"points": 500}, headers=admin).status_code == 400
    for bad in (-5, 0, 1.5, "9", True):
        assert (
            client.post(
                url, json={"points": bad, "client_id": "topup-0002"}, headers=admin
            ).status_code
            == 400
        )
    rpc.answer("points", "top_up", IdempotencyConflict(details={"key": "x"}))
    assert (
        client.post(url, json={"points": 7, "client_id": "topup-0001"}, headers=admin).status_code
        == 409
    )
    assert (
        client.post(
            url, json={"points": 7, "client_id": "topup-0003"}, headers=bearer("grid_worker")
        ).status_code
        == 403
    )


def test_operator_calls_map_their_errors(client, rpc, bearer):
    admin = bearer("community_admin", scopes=(V,))
    rpc.answer("points", "retry_refusal", AlreadyAwarded())
    assert (
        client.post("/api/v1/points/refusals/r1/retry", headers=admin).json["error"]
        == "already_awarded"
    )
    rpc.answer("points", "retry_refusal", FundShort())
    assert client.post("/api/v1/points/refusals/r1/retry", headers=admin).status_code == 409
    rpc.answer("points", "mark_statement_paid", PeriodClosed(details={"period": "2026-10"}))
    answer = client.post("/api/v1/points/shops/s1/statements/2026-10/paid", headers=admin)
    assert answer.status_code == 409 and answer.json["error"] == "period_closed"
    rpc.answer("points", "refusals", [])
    client.get(f"/api/v1/points/villages/{V}/refusals?state=all", headers=admin)
    assert rpc.last("points", "refusals").args == (V, None, 100)


def test_rules_and_manual_awards_are_checked_at_the_door(client, rpc, bearer):
    admin = bearer("community_admin", scopes=(V,))
    rpc.answer("points", "create_rule", lambda code, data, caller: {"code": code, **data})
    rule = {
        "code": V,
        "name": "走访",
        "category": "livelihood",
        "trigger": "visit_logged",
        "points": 5,
        "valid_from": "2026-12-01T00:00:00+08:00",
    }
    answer = client.post("/api/v1/points/rules", json=rule, headers=admin)
    assert answer.status_code == 201 and answer.json["valid_from"] == "2026-12-01T00:00:00+08:00"
    for bad in (
        {"points": 0},
        {"category": "x"},
        {"trigger": "y"},
        {"valid_from": "2026-12-01"},
        {"code": "33"},
        {"daily_cap": -1},
    ):
        assert (
            client.post("/api/v1/points/rules", json={**rule, **bad}, headers=admin).status_code
            == 400
        )
    rpc.answer("points", "request_manual", lambda data, cid, caller: {"state": "awaiting_approval"})
    manual = {
        "user_id": "w1",
        "grid_code": V + "-001",
        "points": 80,
        "direction": "award",
        "reason": "防汛值守",
        "client_id": "manual-001",
    }
    leader = bearer("grid_leader", scopes=(V + "-001",))
    assert client.post("/api/v1/points/manual", json=manual, headers=leader).status_code == 201
    assert (
        client.post(
            "/api/v1/points/manual", json={**manual, "reason": ""}, headers=leader
        ).status_code
        == 400
    )
    assert (
        client.post("/api/v1/points/manual", json=manual, headers=bearer("grid_worker")).status_code
        == 403
    )


def test_statements_download_as_files(client, rpc, bearer):
    data = "\ufeff积分超市月结单".encode()
    rpc.answer(
        "points",
        "statement_file",
        {
            "filename": "s.csv",
            "content_type": "text/csv; charset=utf-8",
            "data": base64.b64encode(data).decode(),
        },
    )
    answer = client.get(
        "/api/v1/points/shops/s1/statements/2026-10/export?format=csv",
        headers=bearer("merchant_staff"),
    )
    assert answer.status_code == 200 and answer.data == data
    assert 'filename="s.csv"' in answer.headers["Content-Disposition"]
    bad = client.get(
        "/api/v1/points/shops/s1/statements/2026-10/export?format=pdf",
        headers=bearer("merchant_staff"),
    )
    assert bad.status_code == 400


def test_rankings_take_a_period(client, rpc, bearer):
    rpc.answer("points", "rankings", lambda code, period, by, caller: {"rows": [], "by": by})
    ok = client.get(
        f"/api/v1/points/rankings?code={V}&period=2026Q4&by=grid", headers=bearer("grid_worker")
    )
    assert ok.json == {"rows": [], "by": "grid"}
    for q in ("period=2026Q5", "period=26", "by=x&period=2026"):
        assert (
            client.get(
                f"/api/v1/points/rankings?code={V}&{q}", headers=bearer("grid_worker")
            ).status_code
            == 400
        )


def test_points_schemas_shadow_no_other_schema_in_the_openapi_document():
    from marshmallow import Schema

    from contracts import grid_http, identity, points_http

    def names(module):
        return {
            n for n, o in vars(module).items() if isinstance(o, type) and issubclass(o, Schema)
        } - {"Schema"}

    assert names(points_http) & (names(identity) | names(grid_http)) == set()
