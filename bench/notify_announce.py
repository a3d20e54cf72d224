"""An announcement to 10,000 residents: the time from publishing (the API's 202) until every
inbox has it, as the job reports its progress; then the read count and the first page of
who has not read it.

    .venv/bin/python -m bench.notify_announce [--residents 10000]

Starts its own system with the demo data (own ports, broker virtual host and data folder)
and adds the residents straight into identity's users collection (10,000 argon2 hashes
would take minutes and measure nothing here: these accounts never sign in). The notice goes
out as community01 (海兴社区) to the residents living in 海兴社区, through the API.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import uuid
from datetime import datetime, timezone

import requests
from pymongo import MongoClient

from infra import demo
from tests.realparts import whole_system

HAIXING = "330424001001"


def seed_residents(mongo_url: str, n: int) -> None:
    users = MongoClient(mongo_url)["wg_identity"]["users"]
    now = datetime.now(timezone.utc)
    docs = [
        {
            "_id": uuid.uuid4().hex,
            "username": f"bench-resident-{i:05d}",
            "display_name": f"居民{i:05d}",
            "roles": ["resident"],
            "scopes": [f"{HAIXING}-00{1 + i % 2}-0{1 + i % 3}"],
            "phone": None,
            "password_hash": "not-a-hash: these accounts never sign in",
            "disabled": False,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": now,
        }
        for i in range(n)
    ]
    for i in range(0, n, 1000):
        users.insert_many(docs[i : i + 1000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--residents", type=int, default=10_000)
    args = parser.parse_args()
    with whole_system("bench-announce", {"DB_PREFIX": "wg_"}) as system:
        api = system.base_url
        seed_residents(system.mongo_url, args.residents)
        login = {"username": "community01", "password": demo.DEMO_PASSWORD}
        token = requests.post(api + "/api/v1/auth/login", json=login, timeout=30).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        audience = {"kind": "grid", "code": HAIXING, "roles": ["resident"]}
        t = time.monotonic()
        preview = requests.post(
            api + "/api/v1/notify/announcements/preview",
            json={"audience": audience},
            headers=bearer,
            timeout=120,
        ).json()
        preview_s = time.monotonic() - t
        notice = {
            "title": "停水通知",
            "body": "明天 9:00–12:00 停水，请提前储水。",
            "audience": audience,
        }
        started = time.monotonic()
        job = requests.post(
            api + "/api/v1/notify/announcements", json=notice, headers=bearer, timeout=60
        ).json()
        answered = time.monotonic() - started
        samples = []
        state = job
        while state["state"] not in ("done", "failed") and time.monotonic() - started < 600:
            time.sleep(1)
            answer = requests.get(
                api + f"/api/v1/notify/announcements/{job['id']}", headers=bearer, timeout=30
            )
            if answer.status_code != 200:  # a busy moment: say so and ask again
                print(f"  progress answered {answer.status_code}: {answer.text[:200]}")
                continue
            state = answer.json()
            samples.append((time.monotonic() - started, state["state"], state["done"]))
        took = time.monotonic() - started
        t = time.monotonic()
        unread = requests.get(
            api + f"/api/v1/notify/announcements/{job['id']}/unread?limit=50",
            headers=bearer,
            timeout=60,
        ).json()
        unread_s = time.monotonic() - t
        machine = f"{platform.machine()}, {os.cpu_count()} cores"
        print(f"machine: {machine}, Python {platform.python_version()}")
        print(f"preview: {preview['people']} people in {preview_s:.1f} s")
        print(f"publish answered (202) in {answered * 1000:.0f} ms")
        for at, what, done in samples[:: max(1, len(samples) // 12)]:
            print(f"  {at:5.1f} s  {what:<10} {done:>6}/{state['total']}")
        print(f"state {state['state']}: {state['done']}/{state['total']} inboxes in {took:.1f} s")
        print(f"who has not read: {unread['total']} (first page in {unread_s * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
