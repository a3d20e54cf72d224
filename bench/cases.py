"""The closed loop's figures, on the whole system as `make run` starts it (with demo data).

    .venv/bin/python -m bench.cases [--clients 16] [--reports 480] [--board 10000] [--samples 200]

1. Case intake through the gateway: `--clients` threads POST reports (resident01, keep-alive,
   a fresh Idempotency-Key each) at points across the demo county's grids: requests per
   second and latency. Beside it, in the same run, the bare write — one transaction holding
   the case, its timeline entry and its outbox entry, built by the same pure code — straight
   to a throwaway database on the same server, one at a time and at the same concurrency.
2. Report → `case_dispatched` on the bus: a queue bound to the cases service's event
   exchange notes when each case's dispatch event arrives; the time from the report's HTTP
   answer to it (triage, the grid's on-duty RPC, the write, the relay).
3. A board of `--board` closed cases (written straight to the database with the service's
   own pure code: case, board entry, tallies): the public 晒单 page and the staff figures
   endpoint, each request a page or period not asked before (so the service's 5-second
   cache never answers) and, separately, the same page asked again (cached).
Prints figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pika
import requests
from pymongo import MongoClient

from bench.points_common import machine, percentile
from contracts.caller import Caller
from contracts.cases import CaseEvent
from services.cases import case as rules_of
from services.cases import figures, taxonomy, views
from services.cases.case import Rules, Step
from services.cases.figures import areas
from services.cases.storage import LATEST, MongoCaseStore
from services.cases.workclock import Calendar
from services.grid.demo import demo_dataset
from services.kit.outbox import OutboxWriter
from tests.conftest import SUITE_RATE_LIMITS
from tests.realparts import whole_system

GRID_CATEGORIES = [c for c in taxonomy.DEFAULTS if c["level"] == "grid" and c["auto_dispatch"]]


def grid_points() -> list[tuple[str, float, float]]:
    """(code, lon, lat): the centre of every level-2/3 demo grid, where reports are made."""
    found = []
    for feature in demo_dataset()["grids"]["features"]:
        code = feature["properties"]["code"]
        if code.count("-") < 2:
            continue
        ring = feature["geometry"]["coordinates"][0][:-1]
        found.append(
            (code, sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
        )
    return found


def stats(samples: list[float]) -> str:
    p50, p95 = percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"


# --- 2. the bus ------------------------------------------------------------------------------
class DispatchWatch(threading.Thread):
    """Notes when each case's `case_dispatched` event reaches the broker's consumers."""

    def __init__(self, amqp_uri: str):
        super().__init__(daemon=True)
        self.params = pika.URLParameters(amqp_uri.replace("pyamqp://", "amqp://"))
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        connection = pika.BlockingConnection(self.params)
        channel = connection.channel()
        channel.exchange_declare("cases.events", exchange_type="topic", durable=True)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue, "cases.events", routing_key="case_dispatched")
        self.ready.set()
        while not self.stop.is_set():
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                connection.sleep(0.005)
                continue
            event = json.loads(body)
            self.seen.setdefault(event["payload"]["case_id"], time.monotonic())
        connection.close()


# --- 1. intake -----------------------------------------------------------------------------
def intake(base: str, token: str, points, clients: int, reports: int):
    """(answers [(case_id, answered_at)], latencies, seconds) of `reports` POSTs."""
    rng = random.Random(8)
    bodies = []
    for _ in range(reports):
        _code, lon, lat = rng.choice(points)
        category = rng.choice(GRID_CATEGORIES)
        bodies.append(
            {
                "category": category["code"],
                "description": "基准测试上报",
                "location": {
                    "lon": round(lon + rng.uniform(-0.0001, 0.0001), 6),
                    "lat": round(lat + rng.uniform(-0.0001, 0.0001), 6),
                },
            }
        )
    answers, latencies, errors = [], [], []
    lock = threading.Lock()
    local = threading.local()

    def post(body):
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        started = time.monotonic()
        answer = session.post(
            f"{base}/api/v1/cases",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
            timeout=30,
        )
        done = time.monotonic()
        with lock:
            if answer.status_code == 201:
                latencies.append(done - started)
                answers.append((answer.json()["id"], done))
            else:
                errors.append(answer.status_code)

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, bodies))
    return answers, latencies, time.monotonic() - started, errors


def bare_writes(mongo_url: str, n: int, clients: int) -> tuple[list[float], list[float]]:
    """The same write without the service: case + timeline + outbox in one transaction."""
    client = MongoClient(mongo_url, tz_aware=True)
    db = client[f"bench_bare_{uuid.uuid4().hex[:6]}"]
    store = MongoCaseStore(client, db)
    store.prepare()
    outbox = OutboxWriter(db, "cases")
    category = {**GRID_CATEGORIES[0], "_id": GRID_CATEGORIES[0]["code"]}
    rules = Rules(Calendar.default(), taxonomy.limit_seconds(category))
    reporter = Caller("bench-resident", ("resident",), ("330424001001",))
    counter = iter(range(10**9))

    def one() -> float:
        now = datetime.now(UTC)
        doc, events = rules_of.report(
            case_id=uuid.uuid4().hex,
            number=f"BENCH{next(counter):09d}",
            data={"description": "基准测试上报"},
            category=category,
            place={
                "grid_code": "330424001001-001-01-01",
                "grid_name": "1幢1单元",
                "location": {"lon": 120.94, "lat": 30.52},
            },
            caller=reporter,
            source="resident",
            now=now,
            rules=rules,
        )
        entry = rules_of.entry({}, doc, "report", reporter, now)
        started = time.monotonic()

        def work(session):
            store.insert_case(doc, session)
            store.append_timeline([entry], session)
            outbox.record(session, events[0][0], CaseEvent().dump(events[0][1]))

        store.transaction(work)
        return time.monotonic() - started

    sequential = [one() for _ in range(n)]
    with ThreadPoolExecutor(clients) as pool:
        concurrent = list(pool.map(lambda _: one(), range(n)))
    client.drop_database(db.name)
    return sequential, concurrent


# --- 3. the board ------------------------------------------------------------------------------
def closed_cases(mongo_url: str, points, n: int) -> None:
    """`n` closed, rated cases over the last year, written as the service writes them."""
    client = MongoClient(mongo_url, tz_aware=True)
    db = client["wg_cases"]
    rng = random.Random(3)
    calendar = Calendar.default()
    resident = Caller("bench-resident", ("resident",), ("330424",))
    leader = Caller("bench-leader", ("grid_leader",), ("330424",))
    service = Caller.trusted("cases")
    tallies: dict[tuple, dict] = defaultdict(lambda: defaultdict(int))
    names: dict[str, str] = {}
    cases, board, entries = [], [], []
    start = datetime.now(UTC) - timedelta(days=330)
    for i in range(n):
        code, lon, lat = rng.choice(points)
        raw = rng.choice(GRID_CATEGORIES)
        category = {**raw, "_id": raw["code"]}
        rules = Rules(calendar, taxonomy.limit_seconds(category))
        at = start + timedelta(minutes=rng.randrange(330 * 24 * 60))
        doc, events = rules_of.report(
            case_id=uuid.uuid4().hex,
            number=f"BD{i:08d}",
            data={"description": "历史事件"},
            category=category,
            place={
                "grid_code": code,
                "grid_name": code[-5:],
                "location": {"lon": lon, "lat": lat},
                "public_point": [round(lon, 4), round(lat, 4)],
            },
            caller=resident,
            source=rng.choice(["resident", "worker", "hotline"]),
            now=at,
            rules=rules,
        )
        worker = Caller(f"w-{code}", ("grid_worker",), (code,))
        steps = [
            ("register", service, Step()),
            ("dispatch", service, Step(to={"level": "grid", "user_id": worker.actor})),
            ("accept", worker, Step()),
            ("handle", worker, Step(note="已处理")),
            ("close", leader, Step()),
            ("evaluate", resident, Step(rating=rng.choice([3, 4, 5, 5, 5]))),
        ]
        for action, who, step in steps:
            at += timedelta(hours=rng.uniform(0.2, 20))
            before = doc
            doc, more = rules_of.apply(doc, action, who, at, step, rules)
            entries.append(rules_of.entry(before, doc, action, who, at, step))
            events += more
        for event_type, payload in events:
            month = figures.month_of(datetime.fromisoformat(payload["at"]))
            for key, value in figures.increments(event_type, payload).items():
                for rolled, parent in figures.rollups(code):
                    tallies[(rolled, parent, month)][key] += value
        names[code] = doc["grid_name"]
        cases.append({**doc, "assignee_key": None})
        seconds = calendar.between(doc["steps"]["dispatched_at"], doc["steps"]["closed_at"])
        entry = views.board_entry(doc, seconds)
        board.append({**entry, "areas": areas(code)})
    for i in range(0, n, 1000):
        db["cases"].insert_many(cases[i : i + 1000])
        db["board"].insert_many(board[i : i + 1000])
    # what the service keeps ready per area (storage.LATEST), over every board entry there is
    by_area = defaultdict(list)
    for entry in db["board"].find():
        for area in entry.pop("areas"):
            by_area[area].append(entry)
    db["board_latest"].delete_many({})
    db["board_latest"].insert_many(
        [
            {
                "_id": area,
                "items": sorted(items, key=lambda e: e["closed_at"], reverse=True)[:LATEST],
                "total": len(items),
            }
            for area, items in by_area.items()
        ]
    )
    for i in range(0, len(entries), 2000):
        db["timeline"].insert_many(entries[i : i + 2000])
    docs = []
    for (code, parent, month), counts in tallies.items():
        doc = {"_id": f"{code}|{month}", "code": code, "parent": parent, "month": month}
        if code in names:
            doc["grid_name"] = names[code]
        for key, value in counts.items():
            node = doc
            *path, last = key.split(".")
            for part in path:
                node = node.setdefault(part, {})
            node[last] = value
        docs.append(doc)
    db["tallies"].delete_many({})
    db["tallies"].insert_many(docs)
    print(f"  board: {n} closed cases, {len(docs)} tally documents written", flush=True)


def timed_gets(base: str, paths: list[str], token: str | None = None) -> list[float]:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    took = []
    for path in paths:
        started = time.monotonic()
        answer = session.get(base + path, headers=headers, timeout=30)
        took.append(time.monotonic() - started)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return took


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reports", type=int, default=480)
    parser.add_argument("--board", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}; server: embedded SecantusDB", flush=True)
    env = {**SUITE_RATE_LIMITS, "RATE_LIMIT_PUBLIC": "100000 per minute"}
    with whole_system("bench-cases", env) as system:
        base = system.base_url
        points = grid_points()
        login = requests.post(
            f"{base}/api/v1/auth/login",
            json={"username": "resident01", "password": "Demo@12345"},
            timeout=30,
        ).json()
        watch = DispatchWatch(system.plan.amqp_uri)
        watch.start()
        watch.ready.wait(10)
        intake(base, login["access_token"], points[:-40], 4, 16)  # warm pools and caches
        # at rest first: one report at a time, each waited for, in grids no other report uses
        resting = []
        rng = random.Random(11)
        for i in range(40):
            code, lon, lat = points[-1 - i]
            body = {
                "category": GRID_CATEGORIES[i % len(GRID_CATEGORIES)]["code"],
                "description": "基准测试：逐条上报",
                "location": {"lon": lon + rng.uniform(-5e-5, 5e-5), "lat": lat},
            }
            answer = requests.post(
                f"{base}/api/v1/cases",
                json=body,
                headers={"Authorization": f"Bearer {login['access_token']}"},
                timeout=30,
            )
            answered = time.monotonic()
            case_id = answer.json()["id"]
            deadline = answered + 10
            while case_id not in watch.seen and time.monotonic() < deadline:
                time.sleep(0.002)
            if case_id in watch.seen:
                resting.append(watch.seen[case_id] - answered)
            time.sleep(0.2)
        print(
            f"report answer → case_dispatched, one report at a time: {stats(resting)} "
            f"({len(resting)} of 40 dispatched)",
            flush=True,
        )
        answers, latencies, seconds, errors = intake(
            base, login["access_token"], points[:-40], args.clients, args.reports
        )
        print(
            f"intake through the gateway, {args.clients} clients: "
            f"{len(latencies) / seconds:.1f} req/s, "
            f"{stats(latencies)} ({len(errors)} errors)",
            flush=True,
        )
        sequential, concurrent = bare_writes(system.mongo_url, 200, args.clients)
        print(f"bare write, one at a time: {stats(sequential)}", flush=True)
        print(f"bare write, {args.clients} at once: {stats(concurrent)}", flush=True)
        print(
            f"ratio of intake p95 to the bare write's p95 at {args.clients} at once: "
            f"{percentile(latencies, 0.95) / percentile(concurrent, 0.95):.1f}",
            flush=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(watch.seen) < len(answers) * 0.9:
            time.sleep(0.5)
        delays = [watch.seen[c] - t for c, t in answers if c in watch.seen]
        print(
            f"report answer → case_dispatched during the {args.clients}-client burst: "
            f"{stats(delays)} "
            f"({len(delays)} of {len(answers)} dispatched; the rest are possible duplicates "
            "that wait for staff)",
            flush=True,
        )
        watch.stop.set()

        closed_cases(system.mongo_url, points, args.board)
        codes = sorted(
            {c[:n] for c, _, _ in points for n in (6, 9, 12)} | {c for c, _, _ in points}
        )
        rng = random.Random(5)
        board_paths = [
            f"/api/v1/public/cases/board?grid_code={code}&limit=20&before={page * 20}"
            for code, page in rng.sample([(c, p) for c in codes for p in range(5)], args.samples)
        ]
        cold = timed_gets(base, board_paths)
        warm = timed_gets(
            base, ["/api/v1/public/cases/board?grid_code=330424&limit=20"] * args.samples
        )
        print(f"public board, a page not asked before: {stats(cold)}", flush=True)
        print(f"public board, the same page again (cached): {stats(warm)}", flush=True)
        county = requests.post(
            f"{base}/api/v1/auth/login",
            json={"username": "county", "password": "Demo@12345"},
            timeout=30,
        ).json()["access_token"]
        months = [
            f"{(datetime.now(UTC) - timedelta(days=30 * k)).strftime('%Y-%m')}" for k in range(12)
        ]
        asks = [
            (a, b, by)
            for a in months
            for b in months
            if a <= b
            for by in ("grid", "category", "source", "month")
        ]
        rng.shuffle(asks)
        figure_paths = [
            f"/api/v1/case-figures?grid_code=330424&start={a}&end={b}&by={by}"
            for a, b, by in asks[: args.samples]
        ]
        cold = timed_gets(base, figure_paths, county)
        warm = timed_gets(
            base, ["/api/v1/case-figures?grid_code=330424&by=grid"] * args.samples, county
        )
        print(f"figures (county, a period not asked before): {stats(cold)}", flush=True)
        print(f"figures, the same question again (cached): {stats(warm)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
