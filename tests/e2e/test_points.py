"""The points mall end to end, on the whole system with its demo data: a visit logged in
the grid service earns points through the real event path; the worker fetches codes, the
demo cashier merchant01 redeems at 海兴便民超市; bad input is a clear 4xx and changes
nothing; and the audit command run as anyone would run it reports a sound ledger."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAIXING = "330424001001"


def wait_points(system, token: str, above: int) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        me = system.call("GET", "/api/v1/points/me", token).json()
        if me["available"] > above:
            return me
        time.sleep(0.3)
    raise AssertionError(f"points did not arrive: {me}")


def test_a_visit_earns_points_that_buy_goods_at_the_till(system):
    worker = system.login("worker02")["access_token"]
    cashier = system.login("merchant01")["access_token"]
    before = system.call("GET", "/api/v1/points/me", worker).json()["available"]
    household = system.call("GET", "/api/v1/households", worker, params={"limit": 1}).json()[
        "items"
    ][0]
    visit = system.call(
        "POST",
        "/api/v1/visits",
        worker,
        json={"household_id": household["id"], "kind": "care"},
        headers={"Idempotency-Key": "points-e2e-visit-1"},
    )
    assert visit.status_code == 201, visit.text
    me = wait_points(system, worker, before)
    assert me["available"] == before + 4  # the demo's 关爱走访 rule: 4 points
    assert me["history"][0]["cause"]["trigger_zh"] == "入户走访"

    shops = system.call("GET", "/api/v1/points/shops", cashier).json()
    shop = next(s for s in shops if s["name"] == "海兴便民超市")
    items = {
        i["name"]: i
        for i in system.call("GET", f"/api/v1/points/shops/{shop['id']}/items", cashier).json()
    }
    pack = system.call("POST", "/api/v1/points/me/tokens", worker, json={"count": 2}).json()[
        "tokens"
    ]
    code = pack[0]["code"]
    seen = system.call(
        "POST", "/api/v1/points/till/lookup", cashier, json={"shop_id": shop["id"], "code": code}
    )
    assert seen.status_code == 200 and seen.json()["available"] == me["available"]

    towel = items["毛巾"]
    too_much = {
        "shop_id": shop["id"],
        "code": code,
        "items": [{"item_id": items["食用油 5L"]["id"], "qty": 2}],
    }
    refused = system.call("POST", "/api/v1/points/redemptions", cashier, json=too_much)
    assert refused.status_code == 409 and refused.json()["error"] == "insufficient_points"
    assert "积分不足" in refused.json()["message"]
    bad = system.call(
        "POST",
        "/api/v1/points/redemptions",
        cashier,
        json={**too_much, "items": [{"item_id": towel["id"], "qty": -1}]},
    )
    assert bad.status_code == 400

    basket = {
        "shop_id": shop["id"],
        "code": code,
        "items": [{"item_id": towel["id"], "qty": 0 + 1}],
    }
    receipt = system.call("POST", "/api/v1/points/redemptions", cashier, json=basket)
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["total"] == towel["price"]
    assert receipt.json()["balance_after"] == me["available"] - towel["price"]
    again = system.call("POST", "/api/v1/points/redemptions", cashier, json=basket)
    assert again.json()["id"] == receipt.json()["id"]  # a retried confirm: the same receipt
    other = system.call(
        "POST",
        "/api/v1/points/redemptions",
        cashier,
        json={**basket, "items": [{"item_id": towel["id"], "qty": 2}]},
    )
    assert other.status_code == 409 and other.json()["error"] == "redemption_code_used"
    mine = system.call("GET", "/api/v1/points/me/receipts", worker).json()
    assert mine[0]["id"] == receipt.json()["id"]
    # the worker cannot work the till, the cashier cannot top up the fund
    assert system.call("POST", "/api/v1/points/redemptions", worker, json=basket).status_code == 403
    assert (
        system.call(
            "POST",
            f"/api/v1/points/villages/{HAIXING}/topups",
            cashier,
            json={"points": 5, "client_id": "topup-e2e-01"},
        ).status_code
        == 403
    )

    operator = system.login("community01")["access_token"]
    fund = system.call("GET", f"/api/v1/points/villages/{HAIXING}", operator).json()
    assert fund["issued"] >= 20000 and fund["fund"] < fund["issued"]

    audit = subprocess.run(
        [sys.executable, "-m", "services.points.audit", "--mongo-url", system.mongo_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "OK: 0 violations" in audit.stdout
