"""Re-key: every sealed value of the grid moved under the current key (issue 7 §2).

    python -m services.grid.rekey                 # re-seal; a stopped run resumes where it was
    python -m services.grid.rekey --new-key       # development: a new key in var/ first
    python -m services.grid.rekey --check         # count what is not under the current key
    python -m services.grid.rekey --batch 200     # records per transaction (default 500)
    python -m services.grid.rekey --again         # scan again though this key's run finished

It reads the collections that hold sealed values (households, places, posts, reserve,
party_links) in id order, in batches; each batch's changed records are written in one
transaction together with how far the run got (the `jobs` record `rekey:<key id>`), so a run
that is stopped resumes after the last batch written, and no transaction holds more than
`--batch` records (SecantusDB slows sharply past ~1,000). Values still kept in clear from
before encryption at rest (phones, birth dates of the demo data) are sealed on the way, and
old ID masks masked anew. A record is written only where its stored version is still the
one read, and keeps its version: nothing a reader sees changes.

Rotating a key in a deployment (keys in env GRID_DATA_KEYS, `kid:base64key,…`):
1. put the new key first in GRID_DATA_KEYS, keep the old ones after it, restart every grid
   instance (they now seal with the new key and open with all);
2. run `python -m services.grid.rekey` (MONGO_URL and DB_PREFIX name the database) until it
   says done, then `--check` says 0;
3. remove the old key from GRID_DATA_KEYS and restart.
In development (`var/grid-data-keys`), `--new-key` does step 1 (running services read the
file again when it changes) and step 2 at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.grid import households, party, places, posts, reserve
from services.grid.vault import KEYS_ENV, KEYS_FILE, Vault, id_key
from services.kit.sealing import KeyConfigError, KeySource

# kind -> the aggregate's `resealed(doc, vault)`: the record with its values under the
# current key, or None when they already are
KINDS: dict[str, Callable[[Mapping[str, Any], Vault], dict | None]] = {
    "households": households.resealed,
    "places": places.resealed,
    "posts": posts.resealed,
    "reserve": reserve.resealed,
    "party_links": party.resealed,
}
BATCH = 500
MAX_BATCH = 1000


class Store(Protocol):
    def sealed_page(self, kind: str, after: str, limit: int) -> list[dict]: ...
    def reseal(self, kind: str, docs: list[dict], session: Any) -> int: ...
    def transaction(self, work: Callable[[Any], Any]) -> Any: ...
    def claim_job(self, job_id: str, now: datetime, stale_after: timedelta) -> dict | None: ...
    def advance_job(self, job_id: str, after: str, session: Any, done: bool = False) -> None: ...
    def job(self, job_id: str) -> dict | None: ...


def rekey(
    store: Store, vault: Vault, now: datetime, batch: int = BATCH, again: bool = False
) -> dict:
    """Move every sealed value under the vault's current key, batch by batch; answers
    {job, read, resealed: {kind: n}, done}. A run stopped half-way is resumed by the next
    (its job record says after which record); a finished key's job is run again only when
    asked `again`."""
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"a batch is 1 to {MAX_BATCH} records (one transaction)")
    job_id = f"rekey:{vault.ring.current}"
    if again:
        store.advance_job(job_id, "", None, done=False)
    job = store.claim_job(job_id, now, timedelta(0))  # a stopped run is taken over at once
    result: dict[str, Any] = {"job": job_id, "read": 0, "resealed": {}, "done": True}
    if job is None:  # finished, or claimed this very instant by another run
        result["already"] = "done" if (store.job(job_id) or {}).get("done") else "running"
        result["done"] = result["already"] == "done"
        return result
    kind, _, after = str(job.get("after") or "").partition("|")
    kinds = list(KINDS)
    start = kinds.index(kind) if kind in KINDS else 0
    for kind in kinds[start:]:
        cursor = after if kind == kinds[start] else ""
        count = 0
        while True:
            page = store.sealed_page(kind, cursor, batch)
            if not page:
                break
            moved = [d for d in (KINDS[kind](doc, vault) for doc in page) if d is not None]
            cursor = page[-1]["_id"]
            mark = f"{kind}|{cursor}"

            def work(session, kind=kind, moved=moved, mark=mark):
                written = store.reseal(kind, moved, session)
                store.advance_job(job_id, mark, session)
                return written

            count += store.transaction(work)
            result["read"] += len(page)
        result["resealed"][kind] = count
    store.transaction(lambda session: store.advance_job(job_id, "", session, done=True))
    return result


def check(store: Store, vault: Vault, batch: int = BATCH) -> dict[str, int]:
    """How many records of each kind hold a value not under the current key (read only)."""
    left: dict[str, int] = {}
    for kind, moved in KINDS.items():
        cursor, n = "", 0
        while page := store.sealed_page(kind, cursor, batch):
            n += sum(moved(doc, vault) is not None for doc in page)
            cursor = page[-1]["_id"]
        left[kind] = n
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.grid.rekey", description=__doc__)
    parser.add_argument("--batch", type=int, default=BATCH, help="records per transaction")
    parser.add_argument("--new-key", action="store_true", help="development: add a key first")
    parser.add_argument("--check", action="store_true", help="only count what is left")
    parser.add_argument("--again", action="store_true", help="scan again after a finished run")
    args = parser.parse_args(argv)

    from services.grid.storage import GridStore
    from services.kit import settings
    from services.kit.mongo import connect

    keys = KeySource(KEYS_ENV, KEYS_FILE)
    try:
        if args.new_key:
            keys.add_key()
        vault = Vault(id_key(), keys)
        current = vault.ring.current
    except KeyConfigError as exc:
        print(f"rekey: {exc}", file=sys.stderr)
        return 2
    client = connect(settings.mongo_url())
    store = GridStore(client, client[settings.db_name("grid")])
    store.prepare()
    if args.check:
        print(json.dumps({"key": current, "left": check(store, vault, args.batch)}))
        return 0
    result = rekey(store, vault, datetime.now(UTC), args.batch, again=args.again)
    print(json.dumps({"key": current, **result}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
