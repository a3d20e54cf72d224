"""Dispatch → open stream: how long from a case_dispatched event on the bus to the assigned
worker's open SSE stream showing it, at 20 dispatches per second with 200 streams open; and
the memory and threads of the gateway's processes with 200 open streams beside none.

    .venv/bin/python -m bench.notify_stream [--streams 200] [--rate 20] [--seconds 30]

The cases service is being built in parallel, so the events are published onto the bus as
it publishes them (its outbox relay: a persistent, confirmed nameko event of producer
"cases" with a `CaseEvent` payload, contracts/cases.py); the clock starts when the publish
returns, which is when the cases relay would have marked the event sent. Everything after
that is real: the notify service (its consumer, the grid service for the place name,
SecantusDB, its outbox relay), RabbitMQ, and the stream app under gunicorn's gevent worker.
Starts its own system (own ports, broker virtual host and data folder); tokens for 200
synthetic workers are signed with the run's own JWT key.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import requests

from tests.producers import case_publisher, dispatched
from tests.realparts import whole_system

SECRET = "bench-notify-stream-secret-0123456789"
MICRO = "330424001001-001-01-01"


def token(user_id: str) -> str:
    now = datetime.now(timezone.utc)
    claims = {
        "sub": user_id,
        "type": "access",
        "fresh": False,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=15),
        "roles": ["grid_worker"],
        "scopes": ["330424001001"],
        "fam": uuid.uuid4().hex,
        "name": user_id,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def proc_stats(pid: int) -> tuple[float, int]:
    """RSS in MiB and threads of a process and its children (gunicorn master + workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    rss, threads = 0.0, 0
    for p in [pid, *map(int, children)]:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
            elif line.startswith("Threads:"):
                threads += int(line.split()[1])
    return rss, threads


class Streams:
    def __init__(self, url: str, users: list[str]):
        self.received: dict[str, float] = {}
        self.lock = threading.Lock()
        self.open = threading.Semaphore(0)
        self.responses: list = []
        self.refused: list[str] = []
        for uid in users:
            threading.Thread(target=self._follow, args=(url, uid), daemon=True).start()

    def _follow(self, url: str, uid: str) -> None:
        headers = {"Authorization": f"Bearer {token(uid)}", "Last-Event-ID": "0"}
        answer = requests.get(url, headers=headers, stream=True, timeout=(10, 600))
        self.responses.append(answer)
        if answer.status_code != 200:
            self.refused.append(f"{answer.status_code} {answer.text[:200]}")
        self.open.release()
        data = None
        try:
            for line in answer.iter_lines(decode_unicode=True):
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and data is not None:
                    number = (data.get("data") or {}).get("number")
                    if number:
                        with self.lock:
                            self.received.setdefault(number, time.monotonic())
                    data = None
        except (requests.RequestException, AttributeError):
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    extra = {"JWT_SECRET_KEY": SECRET, "NOTIFY_DIGEST_SECONDS": "1"}
    with whole_system("bench-notify", extra) as system:
        api = system.base_url
        stream_url = f"http://127.0.0.1:{system.plan.stream_port}/api/v1/stream"
        for _ in range(100):
            try:
                if requests.get(stream_url.replace("/api/v1/stream", "/healthz"), timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        # Until its identity feed is following, the stream app asks identity about each
        # session, and identity knows none of these synthetic ones: wait for the feed.
        for _ in range(100):
            probe = requests.get(
                stream_url,
                headers={"Authorization": f"Bearer {token('warm')}"},
                stream=True,
                timeout=10,
            )
            probe.close()
            if probe.status_code == 200:
                break
            time.sleep(0.3)
        procs = {name: p.pid for name, p in system.group.procs}
        idle = {name: proc_stats(procs[name]) for name in ("gateway", "stream")}
        users = [f"bench-w{i:03d}" for i in range(args.streams)]
        streams = Streams(stream_url, users)
        for _ in users:
            streams.open.acquire(timeout=60)
        time.sleep(3)  # every stream past its replay
        busy = {name: proc_stats(procs[name]) for name in ("gateway", "stream")}
        health = requests.get(stream_url.replace("/api/v1/stream", "/healthz"), timeout=5).json()
        if streams.refused:
            print(f"{len(streams.refused)} streams refused, e.g. {streams.refused[0]}")

        publish = case_publisher(system.plan.amqp_uri)
        sent: dict[str, float] = {}
        total = int(args.rate * args.seconds)
        start = time.monotonic()
        for n in range(total):
            due = start + n / args.rate
            time.sleep(max(0.0, due - time.monotonic()))
            number = f"AJ-BENCH-{n:05d}"
            publish(dispatched(random.choice(users), number, MICRO))
            sent[number] = time.monotonic()
        achieved = total / (time.monotonic() - start)
        deadline = time.monotonic() + 30
        while len(streams.received) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        lat = sorted(
            (streams.received[k] - t) * 1000 for k, t in sent.items() if k in streams.received
        )
        # (the streams end with the system: closing a response that another thread is
        # reading can block in urllib3)
        t = requests.get(api + "/healthz", timeout=5)  # the API still answers
        machine = f"{platform.machine()}, {os.cpu_count()} cores"
        print(f"machine: {machine}, Python {platform.python_version()}")
        print(
            f"streams open: {health['streams']} (of {args.streams}); API /healthz {t.status_code}"
        )
        print(f"dispatches: {total} at {achieved:.1f}/s; received on streams: {len(lat)}")
        if lat:
            p50 = statistics.median(lat)
            p95 = lat[int(len(lat) * 0.95) - 1]
            print(f"dispatch -> stream: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {lat[-1]:.0f} ms")
        for name in ("gateway", "stream"):
            (r0, t0), (r1, t1) = idle[name], busy[name]
            print(
                f"{name:>8}: no streams {r0:.0f} MiB, {t0} threads; "
                f"{args.streams} streams {r1:.0f} MiB, {t1} threads"
            )


if __name__ == "__main__":
    main()
