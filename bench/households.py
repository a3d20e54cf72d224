"""Household figures: importing a CSV (rows per second, peak memory) and scoped search
(by name, tag, building) latency, against the database MONGO_URL names or a throwaway
SecantusDB server.

    .venv/bin/python -m bench.households [--import-households 100000]
                                         [--search-households 200000] [--queries 200]

The embedded SecantusDB writes a few thousand documents a second here, so the defaults
take many minutes on it; pass smaller numbers and say so next to the figures.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
import tracemalloc
from datetime import UTC, datetime

from services.grid import exporting, grids, households
from services.grid.generator import JiaxingCity
from services.grid.importing.decoding import Limits
from services.grid.importing.importer import Importer
from services.grid.storage import GridStore, new_id
from services.grid.vault import Vault
from services.grid.versions import Stamp
from services.kit.mongo import connect
from services.kit.outbox import OutboxWriter
from services.kit.sealing import Keyring
from tests.realparts import embedded_mongo

VAULT = Vault(b"bench-key", Keyring.generate("bench"))  # IDs, phones, birth dates sealed


def importer(store: GridStore) -> Importer:
    """An importer as the service makes one, with no cap on the records of a file."""
    outbox = OutboxWriter(store.db, "grid")
    unlimited = Limits(rows=10**8)  # a benchmark file is not hostile: only size matters
    return Importer(
        store, outbox, datetime.now(UTC), VAULT, "bench", max_records=None, limits=unlimited
    )


def seed_grids(store: GridStore, city: JiaxingCity, micro_grids: int) -> list[str]:
    """Level-1 and micro-grid records (no boundaries needed here) for the first grids."""
    docs, micro = [], []
    now = datetime.now(UTC)
    for code, level, _ in city.grids():
        fields = {"name": code, "kind": "comprehensive", "dedicated_kind": None, "boundary": None}
        docs.append(grids.record(code, fields, Stamp(now, "bench")))
        if level == 2:
            micro.append(code)
            if len(micro) >= micro_grids:
                break
    store.insert_grids(docs, None)
    return micro


def bench_import(store: GridStore, city: JiaxingCity, n: int) -> None:
    households = list(city.households(limit=n))
    seed_grids(store, city, len({h["grid_code"] for h in households}) + 1)
    # as a worker would send it: one row per member, IDs in the clear, GBK-free UTF-8 CSV
    rows = []
    for h in households:
        for i, m in enumerate(h["members"]):
            own = i == 0
            rows.append(
                [
                    h["grid_code"],
                    h["address"]["building"],
                    h["address"]["unit"],
                    h["address"]["room"],
                    h["housing"]["tenure"] if own else "",
                    h["housing"].get("landlord", "") if own else "",
                    h["housing"].get("landlord_phone", "") if own else "",
                    ";".join(h["tags"]) if own else "",
                    "",
                    m["name"],
                    m["relation"],
                    m["id_number"],
                    m.get("phone", ""),
                    m["birth_date"],
                    m["gender"],
                ]
            )
    header = [c if c != "birth_year" else "birth_date" for c in exporting.HOUSEHOLD_HEADER]
    content, n_rows = exporting.to_csv(header, rows)
    del households, rows
    print(f"import file: {n:,} households, {n_rows:,} member rows, {len(content) / 1e6:.1f} MB")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    report = importer(store).run("households", "bench.csv", content)
    took = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert report["applied"] and report["created"] == n, report
    print(
        f"import: {took:.1f} s, {n / took:,.0f} households/s ({n_rows / took:,.0f} rows/s); "
        f"peak Python heap {peak / 2**20:.0f} MiB, peak RSS {rss1:.0f} MiB (was {rss0:.0f})"
    )
    t0 = time.perf_counter()
    again = importer(store).run("households", "bench.csv", content)
    assert again["created"] == 0 and again["unchanged"] == n
    print(f"same file again: {time.perf_counter() - t0:.1f} s, changes nothing")


def bench_search(store: GridStore, city: JiaxingCity, n: int, queries: int) -> None:
    micro = seed_grids(store, city, 10**9) if store.grids.estimated_document_count() == 0 else []
    del micro
    batch, t0 = [], time.perf_counter()
    now = datetime.now(UTC)
    loaded = store.households.estimated_document_count()
    for h in city.households(limit=n):
        if loaded:
            loaded -= 1  # the import benchmark put the first ones in already
            continue
        fields = households.fields(h, None, VAULT, new_id)
        batch.append(households.record(fields, Stamp(now, "bench"), new_id))
        if len(batch) == 5000:
            store.insert_households(batch, None)
            batch = []
    if batch:
        store.insert_households(batch, None)
    total = store.households.estimated_document_count()
    print(f"search set: {total:,} households (loaded in {time.perf_counter() - t0:.0f} s)")
    rng = random.Random(3)
    sample = list(store.households.aggregate([{"$sample": {"size": queries}}]))
    kinds = {"name": [], "tag": [], "building": []}
    for h in sample:
        scope = h["grid_code"][:16]  # the household's level-1 grid: a worker's scope
        cases = {
            "name": {"name": h["names"][0][: 1 + rng.randrange(2)]},
            "tag": {"tag": rng.choice(["elderly_alone", "rental_house", "hardship"])},
            "building": {"building": h["address"]["building"]},
        }
        for kind, query in cases.items():
            t = time.perf_counter()
            store.search_households([scope], households.Search(**query), 50, 0)
            kinds[kind].append((time.perf_counter() - t) * 1000)
    for kind, times in kinds.items():
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"scoped search by {kind:<8}: p50 {statistics.median(times):6.1f} ms  "
            f"p95 {p95:6.1f} ms  over {len(times)} queries"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--import-households", type=int, default=100_000)
    parser.add_argument("--search-households", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    city = JiaxingCity()
    with embedded_mongo() as url:
        print(f"database: {url}")
        client = connect(url)
        db = client[f"bench_grid_{new_id()[:6]}"]
        store = GridStore(client, db)
        store.prepare()
        try:
            if args.import_households:
                bench_import(store, city, args.import_households)
            if args.search_households:
                bench_search(store, city, args.search_households, args.queries)
        finally:
            client.drop_database(db.name)


if __name__ == "__main__":
    main()
