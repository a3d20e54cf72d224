"""A burst of visit events, each awarded once, and the audit after it.

    .venv/bin/python -m bench.points_awards [--events 10000] [--villages 10] [--workers 10]

Starts a throwaway database, broker virtual host and one points service process (so its
event queues exist), stops it, queues the whole burst of contract-shaped `visit_logged`
events on the broker (producer "grid", through the kit's outbox), starts the service
again and times it from start to the last award. Prints awards per second, checks that
every event was applied once (one award per event, wallets = points × visits) and runs
the audit.
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import datetime, timedelta, timezone

from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient

from bench.points_common import machine, points_service, wait_ready
from contracts.caller import Caller
from contracts.grid import VISIT_LOGGED
from services.kit.outbox import OutboxRelay, OutboxWriter, amqp_publisher
from services.points.audit import audit

POINTS = 2


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--villages", type=int, default=10)
    parser.add_argument("--workers", type=int, default=10, help="the service's max_workers")
    args = parser.parse_args()
    villages = [f"330424001{n:03d}" for n in range(1, args.villages + 1)]
    with points_service("awards", workers=args.workers) as (config, mongo, service):
        op = Caller.trusted("bench")
        with ClusterRpcProxy(config, timeout=60) as rpc:
            for v in villages:
                rpc.points.top_up(v, args.events * POINTS, f"bench-{v}", caller=op)
                rpc.points.create_rule(
                    v,
                    {
                        "name": "走访",
                        "category": "livelihood",
                        "trigger": "visit_logged",
                        "points": POINTS,
                    },
                    caller=op,
                )
        # the service has declared its queues; stop it and queue the burst
        service.stop()
        client = MongoClient(mongo, tz_aware=True)
        grid_db = client["bench_grid"]
        writer = OutboxWriter(grid_db, "grid")
        at = datetime.now(timezone.utc) + timedelta(seconds=5)
        payloads = [
            {
                "visit_id": uuid.uuid4().hex,
                "household_id": f"h{n}",
                "grid_code": f"{villages[n % len(villages)]}-001-01",
                "worker_user_id": f"w{n % 500}",
                "kind": "routine",
                "occurred_at": (at + timedelta(milliseconds=n)).isoformat(),
                "actor": f"w{n % 500}",  # every grid event says who made the change
            }
            for n in range(args.events)
        ]
        print(f"queueing {args.events} visit events …", flush=True)
        marks = []  # the inbox mark each event leaves when applied
        for i in range(0, len(payloads), 1000):
            with client.start_session() as session:
                for event in writer.record_many(session, VISIT_LOGGED, payloads[i : i + 1000]):
                    marks.append(f"on_visit_logged:{event['id']}")
        relay = OutboxRelay(grid_db, amqp_publisher(config["AMQP_URI"], "grid"), batch=1000)
        while relay.run_once():
            pass
        print("starting the points service …", flush=True)
        started = time.monotonic()
        service.start()
        try:
            db = client["bench_points"]
            wait_ready(config)
            ready = time.monotonic()
            last, last_change = -1, time.monotonic()
            waiting = list(marks)
            while True:
                # an indexed look-up of the marks still awaited (a count over the whole
                # collection every half second took ~0.1 s of the one-at-a-time server)
                for i in range(0, min(len(waiting), 2000), 500):
                    ids = waiting[i : i + 500]
                    found = {d["_id"] for d in db["processed_events"].find({"_id": {"$in": ids}})}
                    waiting[i : i + 500] = [k for k in ids if k not in found] + [None] * len(found)
                waiting = [k for k in waiting if k is not None]
                done = len(marks) - len(waiting)
                if not waiting:
                    break
                if done != last:
                    last, last_change = done, time.monotonic()
                elif time.monotonic() - last_change > 60:
                    dead = db["dead_letters"].count_documents({})
                    raise SystemExit(f"stalled at {done} events ({dead} dead letters)")
                time.sleep(0.5)
            finished = time.monotonic()
            awards = db["transfers"].count_documents({"kind": "award"})
            keys = len(db["transfers"].distinct("key", {"kind": "award"}))
            wallets = sum(a["balance"] for a in db["accounts"].find({"kind": "wallet"}))
            report = audit(db)
        finally:
            service.stop()
    took = finished - ready
    print(f"machine: {machine()}; SecantusDB; points service max_workers={args.workers}")
    print(
        f"events: {args.events} across {args.villages} villages; "
        f"service start to ready {ready - started:.1f} s"
    )
    print(f"awards: {awards} (distinct keys {keys}) in {took:.1f} s = {awards / took:.0f} awards/s")
    print(f"applied once: {awards == args.events == keys and wallets == POINTS * args.events}")
    print(
        f"audit: {report.violations} violations over {report.entries} entries, "
        f"{report.transfers} transfers ({report.seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
