"""The audit command over a big ledger: time and memory.

    .venv/bin/python -m bench.points_audit [--entries 1000000] [--also 100000]

Builds ledgers of N entries in a throwaway SecantusDB (top-ups, awards, redemptions
between 20 village funds, 5,000 wallets and 40 supermarkets, every entry made by the same
pure `Transfer.entries` the service uses, written in bulk), then runs
`python -m services.points.audit` on each as a separate process and reports its wall time
and peak memory (max RSS): flat memory means the peak does not grow with the ledger.
Building 1,000,000 entries takes several minutes on the embedded server.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from pymongo import MongoClient

from bench.points_common import ROOT, machine
from services.points.storage import entry_doc, transfer_doc
from services.points.transfer import Head, Transfer, fund, issued, shop, wallet
from tests.realparts import embedded_mongo

VILLAGES = [f"330424001{n:03d}" for n in range(1, 21)]
BATCH = 5000


def build(db, entries_wanted: int, seed: int = 7) -> int:
    """Write a ledger of about `entries_wanted` entries; answers how many were written."""
    rng = random.Random(seed)
    heads: dict[str, Head] = {}
    accounts: dict[str, dict] = {}
    transfers, entries = [], []
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    written = 0

    def post(t: Transfer) -> None:
        nonlocal written
        made = t.entries(heads)
        doc = transfer_doc(t)
        doc["balances"] = {e.account: e.balance for e in made}
        transfers.append(doc)
        for e in made:
            heads[e.account] = e.head()
            entries.append(entry_doc(e))
        written += len(made)
        if len(entries) >= BATCH:
            flush()

    def flush() -> None:
        if transfers:
            db["transfers"].insert_many(transfers, ordered=False)
        if entries:
            db["entries"].insert_many(entries, ordered=False)
        transfers.clear()
        entries.clear()

    cause = {"kind": "bench"}
    for v in VILLAGES:
        post(
            Transfer.build(
                "topup",
                f"t-{v}",
                [(issued(v), -(10**9)), (fund(v), 10**9)],
                cause=cause,
                actor="b",
                at=at,
            )
        )
    n = 0
    while written < entries_wanted:
        n += 1
        at += timedelta(milliseconds=10)
        v = rng.choice(VILLAGES)
        user = f"u{rng.randrange(250)}"
        w = wallet(v, user)
        if rng.random() < 0.6 or heads.get(w, Head(0, 0, "")).balance < 10:
            t = Transfer.build(
                "award", f"a-{n}", [(fund(v), -5), (w, 5)], cause=cause, actor="b", at=at
            )
        else:
            t = Transfer.build(
                "redeem",
                f"r-{n}",
                [(w, -10), (shop(f"s{rng.randrange(2)}", v), 10)],
                cause=cause,
                actor="b",
                at=at,
            )
        post(t)
    flush()
    docs = [
        {
            "_id": a,
            "kind": a.split(":")[0],
            "village": "",
            "owner": None,
            "balance": h.balance,
            "seq": h.seq,
            "head": h.hash,
        }
        for a, h in heads.items()
    ]
    for i in range(0, len(docs), BATCH):
        db["accounts"].insert_many(docs[i : i + BATCH])
    del accounts
    db["transfers"].create_index("key", unique=True)
    db["entries"].create_index([("account", 1), ("seq", 1)], unique=True)
    return written


def run_audit(url: str, name: str) -> tuple[float, float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, sys\n"
            "from services.points.audit import main\n"
            "code = main(sys.argv[1:])\n"
            "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            "sys.exit(code)",
            "--mongo-url",
            url,
            "--db",
            name,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    took = time.monotonic() - started
    rss = next(
        (int(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("MAXRSS_KB")),
        0,
    )
    return took, rss / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument(
        "--also", type=int, default=100_000, help="a smaller ledger to compare memory with"
    )
    args = parser.parse_args()
    sizes = [n for n in (args.also, args.entries) if n]
    with embedded_mongo() as url:
        client = MongoClient(url, tz_aware=True)
        for size in sizes:
            name = f"bench_audit_{size}"
            t = time.monotonic()
            written = build(client[name], size)
            print(f"built {written} entries in {time.monotonic() - t:.0f} s", flush=True)
            took, rss, out = run_audit(url, name)
            ok = "OK: 0 violations" in out
            print(
                f"audit of {written} entries: {took:.1f} s wall, "
                f"peak memory {rss:.0f} MB, clean: {ok}",
                flush=True,
            )
            # a tampered copy: the audit names the first broken link
            victim = client[name]["entries"].find_one({"seq": 3, "account": {"$regex": "^wallet:"}})
            client[name]["entries"].update_one({"_id": victim["_id"]}, {"$inc": {"amount": 1}})
            _, _, out = run_audit(url, name)
            print(
                "  after tampering one entry: "
                + next(
                    (ln for ln in out.splitlines() if ln.startswith("first broken link")),
                    "NOT FOUND",
                ),
                flush=True,
            )
            client.drop_database(name)
    print(
        f"machine: {machine()}; SecantusDB; this process peak "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
