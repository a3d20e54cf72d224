"""The ledger audit anyone can run: `python -m services.points.audit` (or `make audit`).

It reads the points database and checks, streaming so that memory stays flat however
long the ledger:
  1. every transfer's postings are whole numbers that sum to zero;
  2. no idempotency key is used twice (transfers read in key order);
  3. each account's entries form an unbroken hash chain (1, 2, 3… each naming the hash of
     the one before, each hash matching its content), each entry's balance is the running
     sum of the amounts, the account's stored balance equals the sum of its entries, and
     no balance is ever below zero on its normal side;
  4. the entries hold exactly the transfers' postings: a 64-bit sum of a token per
     (transfer, account, amount) is taken over both and must agree (a posting without its
     entry, or an entry no transfer made, changes one sum and not the other).
It prints what it checked and, for a broken chain, the first broken link.

    python -m services.points.audit [--mongo-url URL] [--db wg_points] [--json]

Exit status 0 when the ledger is sound, 1 when it found violations, 2 when it could not
read the database.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from pymongo import ASCENDING, MongoClient
from pymongo.database import Database

from services.points.transfer import (
    GENESIS,
    Entry,
    entry_hash,
    is_whole,
    posting_token,
    sign_of,
)

MASK = (1 << 64) - 1
BATCH = 2000
KEEP = 20  # violations listed in full; the rest are counted


@dataclass
class Report:
    transfers: int = 0
    postings: int = 0
    entries: int = 0
    accounts: int = 0
    violations: int = 0
    problems: list[dict] = field(default_factory=list)
    first_broken_link: dict | None = None
    seconds: float = 0.0

    def add(self, kind: str, **details) -> None:
        self.violations += 1
        if len(self.problems) < KEEP:
            self.problems.append({"kind": kind, **details})

    @property
    def ok(self) -> bool:
        return self.violations == 0


def _stream(cursor) -> Iterator[dict]:
    yield from cursor.batch_size(BATCH)


def check_transfers(db: Database, report: Report) -> int:
    """Pass over the transfers in key order; answers their postings' token sum."""
    tokens = 0
    last_key = None
    cursor = db["transfers"].find({}, {"key": 1, "postings": 1}).sort("key", ASCENDING)
    for t in _stream(cursor):
        report.transfers += 1
        if t["key"] == last_key:
            report.add("key_reused", key=t["key"], transfer=t["_id"])
        last_key = t["key"]
        total = 0
        for p in t.get("postings") or []:
            report.postings += 1
            amount = p.get("amount")
            if not is_whole(amount):
                report.add("not_whole", transfer=t["_id"], account=p.get("account"))
                continue
            total += amount
            tokens = (tokens + posting_token(t["_id"], p["account"], amount)) & MASK
        if total != 0:
            report.add("unbalanced", transfer=t["_id"], sum=total)
    return tokens


def check_entries(db: Database, report: Report) -> int:
    """Pass over the entries in (account, seq) order, against the accounts beside them;
    answers the entries' token sum."""
    tokens = 0
    accounts = _stream(db["accounts"].find({}, {"balance": 1}).sort("_id", ASCENDING))
    stored = next(accounts, None)
    entries = db["entries"].find({}, {"_id": 0}).sort([("account", ASCENDING), ("seq", ASCENDING)])
    current, running, seq, prev = None, 0, 0, GENESIS

    def close(account: str | None) -> None:
        nonlocal stored
        if account is None:
            return
        report.accounts += 1
        # accounts that have no entries at all are themselves a violation
        while stored is not None and stored["_id"] < account:
            report.add("account_without_entries", account=stored["_id"])
            stored = next(accounts, None)
        if stored is None or stored["_id"] != account:
            report.add("entries_without_account", account=account)
            return
        if stored.get("balance") != running:
            report.add(
                "balance_mismatch", account=account, stored=stored.get("balance"), entries=running
            )
        stored = next(accounts, None)

    for e in _stream(entries):
        report.entries += 1
        if e["account"] != current:
            close(current)
            current, running, seq, prev = e["account"], 0, 0, GENESIS
        tokens = (tokens + posting_token(e["transfer_id"], e["account"], e["amount"])) & MASK
        running += e["amount"]
        seq += 1
        link = {"account": e["account"], "seq": e["seq"], "transfer": e["transfer_id"]}
        entry = Entry(
            e["account"],
            e["seq"],
            e["transfer_id"],
            e["amount"],
            e["balance"],
            e["at"],
            e["prev"],
            e["hash"],
        )
        broken = None
        if e["seq"] != seq:
            broken = f"sequence {e['seq']} where {seq} was due"
        elif e["prev"] != prev:
            broken = "does not name the hash of the entry before it"
        elif entry_hash(entry) != e["hash"]:
            broken = "its hash does not match its content"
        elif e["balance"] != running:
            broken = f"balance {e['balance']} where the entries add up to {running}"
        if broken:
            report.add("broken_link", reason=broken, **link)
            if report.first_broken_link is None:
                report.first_broken_link = {**link, "reason": broken}
            # carry on from what the entry says, so one bad link is reported once
            seq, running = e["seq"], e["balance"]
        if sign_of(e["account"]) * e["balance"] < 0:
            report.add("negative_balance", balance=e["balance"], **link)
        prev = e["hash"]
    close(current)
    while stored is not None:
        report.add("account_without_entries", account=stored["_id"])
        stored = next(accounts, None)
    return tokens


def audit(db: Database) -> Report:
    started = time.monotonic()
    report = Report()
    posted = check_transfers(db, report)
    entered = check_entries(db, report)
    if posted != entered or report.postings != report.entries:
        report.add(
            "postings_entries_differ",
            postings=report.postings,
            entries=report.entries,
            detail="the entries do not hold exactly the transfers' postings",
        )
    report.seconds = time.monotonic() - started
    return report


def render(report: Report) -> str:
    lines = [
        "积分账本审计 / points ledger audit",
        f"  transfers checked:  {report.transfers} (postings {report.postings}; each sums to"
        " zero, whole numbers, key used once)",
        f"  entries checked:    {report.entries} on {report.accounts} accounts (hash chain,"
        " running balance, never below zero)",
        "  accounts:           stored balance equals the sum of its entries",
        "  postings = entries: checksum over both",
        f"  took {report.seconds:.1f} s",
    ]
    if report.ok:
        lines.append("OK: 0 violations")
    else:
        lines.append(f"FOUND {report.violations} violation(s):")
        for p in report.problems:
            lines.append("  - " + json.dumps(p, ensure_ascii=False, default=str))
        if report.first_broken_link:
            b = report.first_broken_link
            lines.append(
                f"first broken link: account {b['account']} entry {b['seq']}"
                f" (transfer {b['transfer']}): {b['reason']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from services.kit import settings

    parser = argparse.ArgumentParser(description="Check the points ledger's invariants.")
    parser.add_argument("--mongo-url", default=None, help="default: MONGO_URL or the local one")
    parser.add_argument("--db", default=None, help="default: <DB_PREFIX>points")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        client = MongoClient(
            args.mongo_url or settings.mongo_url(), tz_aware=True, serverSelectionTimeoutMS=5000
        )
        report = audit(client[args.db or settings.db_name("points")])
    except Exception as exc:  # the database is not there
        print(f"cannot audit: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.__dict__, ensure_ascii=False, default=str))
    else:
        print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
