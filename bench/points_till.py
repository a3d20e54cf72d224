"""64 cashiers at once against wallets that hold enough for only some of them.

    .venv/bin/python -m bench.points_till [--cashiers 64] [--seconds 20] [--workers 10]

Starts a throwaway database, broker virtual host and one points service process. Sets up
8 villages, each with a fund, one supermarket and 8 cashiers, and 40 workers per village
whose wallets cover about half of what will be asked of them. Each cashier then redeems
as fast as it can over RPC (one proxy per cashier, as the gateway pools them), each
redemption a fresh single-use code of a random worker of its village. Prints
redemptions per second, latency (p50, p95), refusals, overdrafts (wallets below zero or
spent beyond what they held: must be 0) and the audit's violations (must be 0).
"""

from __future__ import annotations

import argparse
import random
import threading
import time

from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient

from bench.points_common import machine, percentile, points_service
from contracts.caller import Caller
from services.points.audit import audit

VILLAGES = [f"330424001{n:03d}" for n in range(1, 9)]
WORKERS = 20
PRICE = 10
GIVEN = 30


def setup(config: dict, cashiers: int, tokens_each: int) -> dict:
    op = Caller.trusted("bench")
    shops, codes, cashier_ids = {}, {}, {}
    with ClusterRpcProxy(config, timeout=120) as rpc:
        for v in VILLAGES:
            rpc.points.set_village_settings(v, {"manual_threshold": 1000}, caller=op)
            rpc.points.top_up(v, 1_000_000, f"bench-{v}", caller=op)
            staff = [f"cashier-{v}-{i}" for i in range(cashiers // len(VILLAGES))]
            shop = rpc.points.create_shop(
                {"name": f"超市{v[-3:]}", "code": v, "staff": staff}, caller=op
            )
            item = rpc.points.add_item(
                shop["id"], {"name": "毛巾", "price": PRICE, "stock": 10**6}, caller=op
            )
            shops[v] = (shop["id"], item["id"])
            cashier_ids[v] = staff
            leader = Caller("bench-leader", ("grid_leader",), (v,))
            for w in range(WORKERS):
                user = f"w-{v}-{w}"
                rpc.points.request_manual(
                    {
                        "user_id": user,
                        "grid_code": v + "-001",
                        "points": GIVEN,
                        "direction": "award",
                        "reason": "bench",
                    },
                    f"bench-{user}",
                    caller=leader,
                )
                worker = Caller(user, ("grid_worker",), (v,))
                pack = rpc.points.issue_tokens(tokens_each, caller=worker)["tokens"]
                codes[user] = pack
    return {"shops": shops, "codes": codes, "cashiers": cashier_ids}


def run(config: dict, world: dict, cashiers: int, seconds: float) -> dict:
    latencies: list[float] = []
    outcomes = {"ok": 0, "insufficient_points": 0, "other": 0}
    spent: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    pools = {u: list(t) for u, t in world["codes"].items()}

    def cashier(village: str, name: str, seed: int) -> None:
        rng = random.Random(seed)
        shop_id, item_id = world["shops"][village]
        me = Caller(name, ("merchant_staff",), (village,))
        users = [u for u in pools if u.startswith(f"w-{village}-")]
        with ClusterRpcProxy(config, timeout=60) as rpc:
            while time.monotonic() < stop:
                user = rng.choice(users)
                with lock:
                    left = [u for u in users if pools[u]]
                    if not left:
                        return  # every code of this village is used
                    if not pools[user]:
                        user = rng.choice(left)
                    token = pools[user].pop()
                t = time.perf_counter()
                try:
                    rpc.points.redeem(
                        shop_id,
                        {"token": token["token"]},
                        [{"item_id": item_id, "qty": 1}],
                        caller=me,
                    )
                    kind = "ok"
                except Exception as exc:  # the named refusals come back as themselves
                    kind = (
                        getattr(exc, "code", None)
                        if getattr(exc, "code", None) == "insufficient_points"
                        else "other"
                    )
                    if kind == "other":
                        print("unexpected:", type(exc).__name__, exc)
                took = time.perf_counter() - t
                with lock:
                    latencies.append(took)
                    outcomes[kind] += 1
                    if kind == "ok":
                        spent[user] = spent.get(user, 0) + PRICE

    threads = []
    for n in range(cashiers):
        village = VILLAGES[n % len(VILLAGES)]
        staff = world["cashiers"][village]
        threads.append(
            threading.Thread(
                target=cashier, args=(village, staff[(n // len(VILLAGES)) % len(staff)], n)
            )
        )
    started = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - started
    return {"elapsed": elapsed, "latencies": latencies, "outcomes": outcomes, "spent": spent}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cashiers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=10, help="the service's max_workers")
    args = parser.parse_args()
    with points_service("till", workers=args.workers) as (config, mongo, _):
        print(f"setting up {len(VILLAGES)} villages × {WORKERS} workers …", flush=True)
        world = setup(config, args.cashiers, tokens_each=10)
        print(f"{args.cashiers} cashiers for {args.seconds:.0f} s …", flush=True)
        result = run(config, world, args.cashiers, args.seconds)
        db = MongoClient(mongo, tz_aware=True)["bench_points"]
        negative = db["accounts"].count_documents(
            {"kind": {"$ne": "issued"}, "balance": {"$lt": 0}}
        )
        beyond = sum(1 for spent in result["spent"].values() if spent > GIVEN)
        wallets_wrong = 0
        for user, spent in result["spent"].items():
            village = user.split("-")[1]
            doc = db["accounts"].find_one({"_id": f"wallet:{village}:{user}"})
            wallets_wrong += int(doc["balance"] != GIVEN - spent)
        report = audit(db)
    lat = result["latencies"]
    total = result["outcomes"]["ok"]
    rate = total / result["elapsed"]
    refused = result["outcomes"]["insufficient_points"]
    print(f"machine: {machine()}; SecantusDB; points service max_workers={args.workers}")
    print(f"redemptions: {total} in {result['elapsed']:.1f} s = {rate:.0f}/s")
    print(
        f"attempts: {len(lat)} ({len(lat) / result['elapsed']:.0f}/s); refused as short: "
        f"{refused}; other errors: {result['outcomes']['other']}"
    )
    p50, p95, p99 = (percentile(lat, q) * 1000 for q in (0.5, 0.95, 0.99))
    print(f"latency ms: p50 {p50:.0f}, p95 {p95:.0f}, p99 {p99:.0f}")
    print(
        f"overdrafts: {negative + beyond + wallets_wrong} (negative balances {negative}, "
        f"spent beyond held {beyond}, wallet != given - spent {wallets_wrong})"
    )
    print(f"audit: {report.violations} violations over {report.entries} entries")


if __name__ == "__main__":
    main()
