"""Redemption tokens, baskets, expiry lots and settlement tables (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.points import expiry, settlement
from services.points import redemption as till

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
KEY = b"test-key"


def test_a_token_reads_back_and_refuses_tampering_and_age():
    token = till.make_token(KEY, "u1", "t1", NOW + timedelta(hours=1))
    claims = till.read_token(KEY, token, NOW)
    assert (claims.user, claims.token_id) == ("u1", "t1")
    parts = token.split(".")
    for forged in (
        ".".join([*parts[:3], till._b64(b"u2"), parts[4]]),  # another user
        ".".join([parts[0], "t2", *parts[2:]]),  # another token id
        ".".join([parts[0], parts[1], str(int(parts[2]) + 3600), *parts[3:]]),  # longer life
    ):
        with pytest.raises(till.TokenRejected, match="bad_signature"):
            till.read_token(KEY, forged, NOW)
    with pytest.raises(till.TokenRejected, match="bad_signature"):
        till.read_token(b"other", token, NOW)
    with pytest.raises(till.TokenRejected, match="expired"):
        till.read_token(KEY, token, NOW + timedelta(hours=2))
    for junk in ("", "LX1.x", "hello", "LX1.a.b.c.d"):
        with pytest.raises(till.TokenRejected, match="malformed"):
            till.read_token(KEY, junk, NOW)


def test_short_codes():
    code = till.new_short_code()
    assert len(code) == 8 and code.isdigit()
    assert till.normalise_code("1234 5678") == "12345678"
    assert till.normalise_code("1234-567") is None and till.normalise_code("abcdefgh") is None


CATALOGUE = {
    "oil": {"name": "食用油", "price": 30, "stock": 5, "per_person_limit": 2},
    "soap": {"name": "洗衣皂", "price": 5, "stock": 1, "per_person_limit": None},
    "old": {"name": "旧货", "price": 1, "stock": 9, "active": False},
}


def test_a_basket_is_priced_and_checked():
    basket = till.price_basket(
        [{"item_id": "oil", "qty": 1}, {"item_id": "oil", "qty": 1}, {"item_id": "soap", "qty": 1}],
        CATALOGUE,
        {},
    )
    assert basket.total == 65 and basket.items == 3
    cases = [
        ([], "bad_basket"),
        ([{"item_id": "oil", "qty": 0}], "bad_basket"),
        ([{"item_id": "oil", "qty": 1.5}], "bad_basket"),
        ([{"item_id": "oil", "qty": -1}], "bad_basket"),
        ([{"item_id": "nope", "qty": 1}], "bad_basket"),
        ([{"item_id": "old", "qty": 1}], "bad_basket"),
        ([{"item_id": "soap", "qty": 2}], "out_of_stock"),
        ([{"item_id": "oil", "qty": 6}], "out_of_stock"),
        ([{"item_id": "oil", "qty": 3}], "over_limit"),
    ]
    for wanted, code in cases:
        with pytest.raises(till.BasketRefused) as refused:
            till.price_basket(wanted, CATALOGUE, {})
        assert refused.value.code == code, wanted
    with pytest.raises(till.BasketRefused) as refused:
        till.price_basket([{"item_id": "oil", "qty": 1}], CATALOGUE, {"oil": 2})
    assert refused.value.code == "over_limit"


def test_spending_draws_wallets_in_order_and_never_more_than_held():
    assert till.split_spend(50, [("v1", 30), ("v2", 40)]) == [("v1", 30), ("v2", 20)]
    with pytest.raises(till.BasketRefused) as refused:
        till.split_spend(80, [("v1", 30), ("v2", 40)])
    assert refused.value.problems == {"available": 70, "needed": 80}


def test_points_expire_oldest_first_by_policy():
    jan = datetime(2026, 1, 10, tzinfo=timezone.utc)
    jun = datetime(2026, 6, 10, tzinfo=timezone.utc)
    moves = [(jan, 10), (jun, 20), (jun + timedelta(days=1), -15)]  # spends jan's 10 + 5
    year_end = expiry.lots(moves, {"mode": "year_end"})
    assert [(lot.remaining) for lot in year_end] == [15]
    end = datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)  # 1 Jan 00:00 Beijing
    assert year_end[0].expires_at == end
    assert expiry.due(year_end, end) == (15, end)
    assert expiry.due(year_end, end - timedelta(seconds=1))[0] == 0
    assert expiry.upcoming(year_end, end - timedelta(days=10), timedelta(days=30)) == [(end, 15)]
    days = expiry.lots([(jan, 10), (jun, 20)], {"mode": "days", "days": 30})
    assert expiry.due(days, jun)[0] == 10
    assert expiry.lots(moves, {"mode": "never"})[0].expires_at is None
    assert expiry.check_policy({"mode": "days", "days": 0}) and not expiry.check_policy(
        {"mode": "never"}
    )


def test_a_statement_adds_up_by_village_at_each_redemptions_rate():
    redemptions = [
        {"state": "redeemed", "parts": [{"village": "v1", "points": 30, "fen_per_point": 10}]},
        {
            "state": "redeemed",
            "parts": [
                {"village": "v1", "points": 5, "fen_per_point": 12},
                {"village": "v2", "points": 7, "fen_per_point": 10},
            ],
        },
        {"state": "refunded", "parts": [{"village": "v1", "points": 99, "fen_per_point": 10}]},
    ]
    rows = settlement.statement_rows(redemptions)
    assert rows == [
        {"village": "v1", "redemptions": 2, "points": 35, "yuan_fen": 360},
        {"village": "v2", "redemptions": 1, "points": 7, "yuan_fen": 70},
    ]
    assert settlement.totals(rows) == {"redemptions": 3, "points": 42, "yuan_fen": 430}
    assert settlement.yuan(430) == "4.30"
    assert settlement.month_bounds("2026-12")[1] == datetime(2026, 12, 31, 16, tzinfo=timezone.utc)


def test_formula_like_cells_are_neutralised():
    statement = {
        "shop_name": '=HYPERLINK("x")',
        "period": "2026-11",
        "rows": [],
        "totals": {"redemptions": 0, "points": 0, "yuan_fen": 0},
    }
    table = settlement.table(statement, {})
    assert table[0][1] == '\'=HYPERLINK("x")'
    for bad in ("+1", "-1+2", "@SUM(A1)", "\tx", "＝1"):
        assert settlement.neutralise(bad).startswith("'")
    assert settlement.neutralise(-5) == -5 and settlement.neutralise("超市") == "超市"
