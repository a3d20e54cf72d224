"""The till against the real database: tokens, a basket, the receipt, replays, every bad
input a clear error with the ledger unchanged, refunds, the month's statement and its
payment; and many cashiers at once never overdraw a wallet."""

from __future__ import annotations

import base64
import csv
import io
from datetime import timedelta

import eventlet
import pytest

from contracts.caller import Caller
from contracts.errors import (
    Conflict,
    IdempotencyConflict,
    InsufficientPoints,
    NotFound,
    OutOfStock,
    OverLimit,
    PeriodClosed,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
    ValidationFailed,
)
from contracts.grid import VISIT_LOGGED
from services.points.audit import audit
from services.points.tests.conftest import OPERATOR, VILLAGE, visit

pytestmark = pytest.mark.interface
CASHIER = Caller("cashier-1", ("merchant_staff",), (VILLAGE,))
STRANGER = Caller("cashier-2", ("merchant_staff",), (VILLAGE,))


def worker(n: int = 1) -> Caller:
    return Caller(f"w{n}", ("grid_worker",), (VILLAGE + "-001",))


def ledger_state(points) -> tuple:
    return (
        points.db["transfers"].count_documents({}),
        points.db["entries"].count_documents({}),
        sorted((a["_id"], a["balance"]) for a in points.db["accounts"].find()),
        sorted((i["_id"], i["stock"]) for i in points.db["items"].find()),
    )


@pytest.fixture
def till(points):
    points.setup_village(points=10, fund=5000)
    shop = points.call(
        "create_shop",
        {"name": "村口超市", "code": VILLAGE, "staff": ["cashier-1"]},
        caller=OPERATOR,
    )
    oil = points.call(
        "add_item",
        shop["id"],
        {"name": "食用油", "price": 30, "stock": 3, "per_person_limit": 2},
        caller=OPERATOR,
    )
    soap = points.call(
        "add_item", shop["id"], {"name": "=洗衣皂", "price": 5, "stock": 100}, caller=CASHIER
    )
    points.publish("grid", VISIT_LOGGED, *[visit(n) for n in range(8)])  # 80 points for w1
    points.handled(8)
    return points, shop, oil, soap


def test_redeem_with_a_token_and_get_receipts(till):
    points, shop, oil, soap = till
    pack = points.call("issue_tokens", 3, "李梅", caller=worker())
    token = pack["tokens"][0]
    seen = points.call("till_lookup", shop["id"], {"token": token["token"]}, caller=CASHIER)
    assert (seen["name"], seen["available"]) == ("李梅", 80)
    assert {i["name"]: i["may_take"] for i in seen["items"]}["食用油"] == 2
    basket = [{"item_id": oil["id"], "qty": 1}, {"item_id": soap["id"], "qty": 2}]
    receipt = points.call("redeem", shop["id"], {"token": token["token"]}, basket, caller=CASHIER)
    assert (receipt["total"], receipt["balance_after"], receipt["items"]) == (40, 40, 3)
    assert points.balance(f"shop:{shop['id']}:{VILLAGE}") == 40
    assert {i["_id"]: i["stock"] for i in points.db["items"].find()}[oil["id"]] == 2
    # a retried confirm (same token, same basket) answers the same receipt
    again = points.call("redeem", shop["id"], {"token": token["token"]}, basket, caller=CASHIER)
    assert again["id"] == receipt["id"] and points.balance(f"wallet:{VILLAGE}:w1") == 40
    before = ledger_state(points)
    with pytest.raises(TokenUsed):  # the same token for another basket
        points.call("redeem", shop["id"], {"token": token["token"]}, basket[:1], caller=CASHIER)
    with pytest.raises(TokenUsed):
        points.call("till_lookup", shop["id"], {"code": token["code"]}, caller=CASHIER)
    assert ledger_state(points) == before
    # the short code works like the QR
    code = pack["tokens"][1]["code"]
    typed = points.call(
        "redeem", shop["id"], {"code": code[:4] + " " + code[4:]}, basket[:1], caller=CASHIER
    )
    assert typed["balance_after"] == 10
    assert [r["id"] for r in points.call("my_receipts", caller=worker())] == [
        typed["id"],
        receipt["id"],
    ]
    day = points.call("shop_redemptions", shop["id"], caller=CASHIER)
    assert (day["count"], day["points"]) == (2, 70)
    with pytest.raises(NotFound):  # not this cashier's shop
        points.call("shop_redemptions", shop["id"], caller=STRANGER)
    assert audit(points.db).ok


def test_bad_input_is_refused_and_the_ledger_unchanged(till):
    points, shop, oil, soap = till
    tokens = points.call("issue_tokens", 5, caller=worker())["tokens"]
    t = {"token": tokens[0]["token"]}
    before = ledger_state(points)
    forged = tokens[0]["token"][:-3] + ("AAA" if not tokens[0]["token"].endswith("AAA") else "BBB")
    cases = [
        ({"token": forged}, [{"item_id": soap["id"], "qty": 1}], TokenInvalid),
        ({"token": "LX1.nope"}, [{"item_id": soap["id"], "qty": 1}], TokenInvalid),
        ({"code": "00000000"}, [{"item_id": soap["id"], "qty": 1}], TokenInvalid),
        (t, [{"item_id": oil["id"], "qty": 3}], OverLimit),
        (t, [{"item_id": soap["id"], "qty": 17}], InsufficientPoints),
        (t, [{"item_id": soap["id"], "qty": -1}], ValidationFailed),
        (t, [{"item_id": soap["id"], "qty": 1.5}], ValidationFailed),
        (t, [{"item_id": "nope", "qty": 1}], ValidationFailed),
        (t, [], ValidationFailed),
        (t, "not a list", ValidationFailed),
    ]
    for presented, basket, error in cases:
        with pytest.raises(error):
            points.call("redeem", shop["id"], presented, basket, caller=CASHIER)
    points.call("update_item", oil["id"], 1, {"per_person_limit": None}, caller=OPERATOR)
    with pytest.raises(OutOfStock):
        points.call("redeem", shop["id"], t, [{"item_id": oil["id"], "qty": 4}], caller=CASHIER)
    with pytest.raises(Conflict):  # a stale version
        points.call("update_item", oil["id"], 1, {"price": 1}, caller=OPERATOR)
    after = ledger_state(points)
    assert after[:3] == before[:3]
    assert points.db["redemptions"].count_documents({}) == 0
    # an expired token
    points.clock.advance(timedelta(hours=25))
    with pytest.raises(TokenExpired):
        points.call("redeem", shop["id"], t, [{"item_id": soap["id"], "qty": 1}], caller=CASHIER)
    with pytest.raises(TokenExpired):
        points.call("till_lookup", shop["id"], {"code": tokens[1]["code"]}, caller=CASHIER)
    # top-ups: the same client id with another amount is a conflict
    points.call("top_up", VILLAGE, 10, "topup-abc1", caller=OPERATOR)
    points.call("top_up", VILLAGE, 10, "topup-abc1", caller=OPERATOR)
    with pytest.raises(IdempotencyConflict):
        points.call("top_up", VILLAGE, 11, "topup-abc1", caller=OPERATOR)
    for bad in (-5, 0, 2.5, True, "7"):
        with pytest.raises(ValidationFailed):
            points.call("top_up", VILLAGE, bad, "topup-bad1", caller=OPERATOR)
    assert points.balance(f"fund:{VILLAGE}") == 5000 - 80 + 10
    assert audit(points.db).ok


def test_refund_statement_and_payment_close_the_month(till):
    points, shop, oil, soap = till
    tokens = points.call("issue_tokens", 2, caller=worker())["tokens"]
    first = points.call(
        "redeem",
        shop["id"],
        {"token": tokens[0]["token"]},
        [{"item_id": oil["id"], "qty": 1}],
        caller=CASHIER,
    )
    second = points.call(
        "redeem",
        shop["id"],
        {"token": tokens[1]["token"]},
        [{"item_id": soap["id"], "qty": 2}],
        caller=CASHIER,
    )
    refunded = points.call("refund", first["id"], "油桶破损", caller=CASHIER)
    assert refunded["state"] == "refunded" and refunded["balance_after"] == 70
    assert {i["_id"]: i["stock"] for i in points.db["items"].find()}[oil["id"]] == 3
    with pytest.raises(Conflict):
        points.call("refund", first["id"], "again", caller=CASHIER)
    reversal = points.db["transfers"].find_one({"key": f"refund:{first['id']}"})
    assert reversal["reverses"] == first["transfer_id"]
    month = points.db["redemptions"].find_one({"_id": second["id"]})["month"]
    statement = points.call("statement", shop["id"], month, caller=CASHIER)
    assert statement["rows"] == [
        {"village": VILLAGE, "redemptions": 1, "points": 10, "yuan_fen": 100}
    ]
    csv_file = points.call("statement_file", shop["id"], month, "csv", caller=CASHIER)
    rows = list(csv.reader(io.StringIO(base64.b64decode(csv_file["data"]).decode("utf-8-sig"))))
    assert rows[-1][:4] == ["合计", "", "1", "10"]
    xlsx = points.call("statement_file", shop["id"], month, "xlsx", caller=OPERATOR)
    assert base64.b64decode(xlsx["data"])[:2] == b"PK"
    with pytest.raises(Conflict):  # the month is not over
        points.call("mark_statement_paid", shop["id"], month, caller=OPERATOR)
    points.clock.advance(timedelta(days=32))
    paid = points.call("mark_statement_paid", shop["id"], month, caller=OPERATOR)
    assert paid["paid_at"] and points.balance(f"paid:{VILLAGE}") == 10
    assert points.balance(f"shop:{shop['id']}:{VILLAGE}") == 0
    with pytest.raises(PeriodClosed):
        points.call("mark_statement_paid", shop["id"], month, caller=OPERATOR)
    with pytest.raises(Exception) as late:
        points.call("refund", second["id"], "太晚", caller=CASHIER)
    assert late.value.code in ("refund_window_passed", "period_closed")
    assert audit(points.db).ok


def test_many_cashiers_at_once_never_overdraw(till):
    """16 tills redeem 10 points each from one 80-point wallet at the same moment:
    exactly 8 succeed, the rest are refused as insufficient; nothing is overdrawn."""
    points, shop, oil, soap = till
    tokens = points.call("issue_tokens", 8, caller=worker())["tokens"]
    tokens += points.call("issue_tokens", 8, caller=worker(2))["tokens"]  # w2 has nothing
    tokens += points.call("issue_tokens", 10, caller=worker())["tokens"][8:]
    outcomes = []
    # real RPC over the broker, one proxy per till (entrypoint_hook hands every
    # concurrent caller the first worker's answer)
    from nameko.standalone.rpc import ClusterRpcProxy

    def redeem(token):
        try:
            with ClusterRpcProxy(points.config, timeout=60) as rpc:
                rpc.points.redeem(
                    shop["id"],
                    {"token": token["token"]},
                    [{"item_id": soap["id"], "qty": 2}],
                    caller=CASHIER,
                )
            outcomes.append("ok")
        except InsufficientPoints:
            outcomes.append("short")

    pool = eventlet.GreenPool(16)
    for token in tokens:
        pool.spawn(redeem, token)
    pool.waitall()
    assert sorted(outcomes) == ["ok"] * 8 + ["short"] * 10
    assert points.balance(f"wallet:{VILLAGE}:w1") == 0
    report = audit(points.db)
    assert report.ok, report.problems


def test_a_pack_holds_the_live_codes_topped_up(points):
    first = points.call("issue_tokens", 3, caller=worker())["tokens"]
    again = points.call("issue_tokens", 3, caller=worker())["tokens"]
    assert [t["token"] for t in again] == [t["token"] for t in first]  # nothing new made
    assert len(points.call("issue_tokens", 5, caller=worker())["tokens"]) == 5
    with pytest.raises(Exception) as refused:
        points.call("issue_tokens", 1, caller=CASHIER)
    assert refused.value.code == "forbidden"
