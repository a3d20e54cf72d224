"""Grid storage: divisions, grids, households, places, staff posts, reserve, party overlay,
visits, audit of unmasked reads and import records, in the `wg_grid` database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from pymongo import ASCENDING, DESCENDING, MongoClient, ReplaceOne, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from contracts.errors import AlreadyExists
from contracts.scope import narrowest, prefix_range
from services.grid import audit, divisions, grids, households, party, places, posts, reserve, visits
from services.kit.commands import Commands
from services.kit.mongo import MongoProvider, in_transaction

BATCH = 1000  # insert_many chunk: SecantusDB takes a few thousand documents a second


def new_id() -> str:
    return uuid.uuid4().hex


@runtime_checkable
class Registry(
    grids.Store,
    divisions.Store,
    households.Store,
    places.Store,
    posts.Store,
    reserve.Store,
    party.Store,
    visits.Store,
    audit.Store,
    Protocol,
):
    """What the grid service asks of its storage: each aggregate's verbs (in its module)
    and the reads the RPCs make across them. `GridStore` is the MongoDB one; the unit tests'
    fake implements the same Protocol. No verb takes a raw query."""

    def ping(self) -> None: ...
    def transaction(self, work: Callable[[Any], Any]) -> Any: ...
    def run_command(self, kind: str, client_id: str, body: Any, execute: Callable) -> Any: ...
    def division(self, code: str, session: Any = None) -> dict | None: ...
    def villages(self) -> list[str]: ...
    def posts_of_grid(self, code: str, session: Any = None) -> list[dict]: ...
    def posts_under(self, prefix: str, session: Any = None) -> list[dict]: ...
    def posts_of_user(self, user_id: str) -> list[dict]: ...
    def search_households(
        self, prefixes: Iterable[str], search: households.Search, limit: int, skip: int
    ) -> list[dict]: ...
    def households_by_id_hash(self, id_hash: str, prefixes: Iterable[str]) -> list[dict]: ...
    def duty_rows(self, prefix: str) -> list[dict]: ...
    def household_grid_codes(self, prefix: str) -> list[str]: ...
    def households_in(self, prefix: str, session: Any = None) -> Iterator[dict]: ...
    def places_under(
        self, prefix: str, kind: str | None = None, limit: int = 500
    ) -> list[dict]: ...
    def visits_of(self, listing: visits.Listing, limit: int) -> list[dict]: ...
    def count_visits(self, worker_id: str, grid_prefix: str, since: datetime) -> int: ...
    def claim_job(self, job_id: str, now: datetime, stale_after: timedelta) -> dict | None: ...
    def advance_job(self, job_id: str, after: str, session: Any, done: bool = False) -> None: ...
    def import_record(self, digest: str) -> dict | None: ...
    def record_import(self, doc: dict, session: Any = None) -> None: ...


class GridStore:
    """The Registry over MongoDB (the `wg_grid` database)."""

    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.db = db
        self.divisions = db["divisions"]
        self.grids = db["grids"]
        self.households = db["households"]
        self.places = db["places"]
        self.posts = db["posts"]
        self.reserve = db["reserve"]
        self.party_units = db["party_units"]
        self.party_links = db["party_links"]
        self.visits = db["visits"]
        self.audit = db["audit"]
        self.imports = db["imports"]
        self.jobs = db["jobs"]
        self.commands = Commands(client, db)
        # the collections that hold sealed personal data, by the kind rekey.py names them
        self._sealed = {
            "households": self.households,
            "places": self.places,
            "posts": self.posts,
            "reserve": self.reserve,
            "party_links": self.party_links,
        }

    def prepare(self) -> None:
        # grids and divisions are keyed by code: the _id index serves prefix ranges.
        self.grids.create_index([("parent", ASCENDING)])
        self.households.create_index([("grid_code", ASCENDING)])
        self.households.create_index([("address_key", ASCENDING)], unique=True)
        # compound with grid_code: the scoped searches (SecantusDB plans flat queries only)
        self.households.create_index([("names", ASCENDING), ("grid_code", ASCENDING)])
        self.households.create_index([("address.building", ASCENDING), ("grid_code", ASCENDING)])
        self.households.create_index([("tags", ASCENDING), ("grid_code", ASCENDING)])
        self.households.create_index([("members.id_hash", ASCENDING)])
        self.places.create_index([("grid_code", ASCENDING)])
        self.places.create_index([("place_key", ASCENDING)], unique=True)
        self.posts.create_index([("grid_code", ASCENDING)])
        self.posts.create_index([("user_id", ASCENDING)])
        self.reserve.create_index([("grid_code", ASCENDING)])
        self.party_links.create_index([("grid_code", ASCENDING)])
        self.visits.create_index([("household_id", ASCENDING), ("occurred_at", DESCENDING)])
        self.visits.create_index([("worker_id", ASCENDING), ("occurred_at", DESCENDING)])
        self.visits.create_index([("grid_code", ASCENDING), ("occurred_at", DESCENDING)])
        self.audit.create_index([("at", DESCENDING)])
        # the audit is read by the code each entry is about (audit.entries)
        self.audit.create_index([("scope", ASCENDING), ("at", DESCENDING)])
        # Posts, visits, reserve members and party records were kept without versions before
        # every record was versioned (versions.py): give the old ones theirs, once.
        for collection in (
            self.posts,
            self.visits,
            self.reserve,
            self.party_units,
            self.party_links,
        ):
            collection.update_many({"version": {"$exists": False}}, {"$set": {"version": 1}})
        # Audit entries written before entries named their scope: name it, once.
        if self.jobs.find_one({"_id": "migrated:audit-scope"}) is None:
            for entry in self.audit.find({"scope": {"$exists": False}}, {"detail": 1}):
                scope = audit.scope_of(entry)
                self.audit.update_one({"_id": entry["_id"]}, {"$set": {"scope": scope}})
            self.jobs.replace_one({"_id": "migrated:audit-scope"}, {"done": True}, upsert=True)

    def ping(self) -> None:
        self.db.command("ping")

    def transaction(self, work):
        return in_transaction(self.client, work)

    def run_command(self, kind: str, client_id: str, body: Any, execute) -> Any:
        return self.commands.run(kind, client_id, body, execute)

    # --- versioned records: inserted whole, replaced only over the version they came from --
    def _insert(
        self, collection: Collection, docs: list[dict], session, exists: Callable[[dict], Any]
    ) -> None:
        for i in range(0, len(docs), BATCH):
            chunk = docs[i : i + BATCH]
            try:
                collection.insert_many(chunk, ordered=True, session=session)
            except BulkWriteError as exc:
                raise _duplicate(exc, chunk, exists) from exc

    def _replace(
        self, collection: Collection, docs: list[dict], session, exists: Callable[[dict], Any]
    ) -> list[str]:
        """Replace each record whose stored version is the one before it; answers the ids
        whose stored version had moved on (nothing of theirs is written)."""
        stale: list[str] = []
        for i in range(0, len(docs), BATCH):
            chunk = docs[i : i + BATCH]
            ops = [ReplaceOne({"_id": d["_id"], "version": d["version"] - 1}, d) for d in chunk]
            try:
                result = collection.bulk_write(ops, ordered=True, session=session)
            except BulkWriteError as exc:
                raise _duplicate(exc, chunk, exists) from exc
            if result.matched_count < len(chunk):
                ids = [d["_id"] for d in chunk]
                now = collection.find({"_id": {"$in": ids}}, {"version": 1}, session=session)
                versions = {d["_id"]: d.get("version") for d in now}
                stale += [d["_id"] for d in chunk if versions.get(d["_id"]) != d["version"]]
        return stale

    # --- divisions ---------------------------------------------------------------------
    def division(self, code: str, session: ClientSession | None = None) -> dict | None:
        return self.divisions.find_one({"_id": code}, session=session)

    def divisions_by_codes(self, codes: Iterable[str], session=None) -> set[str]:
        """Which of `codes` are divisions."""
        wanted = sorted(set(codes))
        if not wanted:
            return set()
        found = self.divisions.find({"_id": {"$in": wanted}}, {"_id": 1}, session=session)
        return {d["_id"] for d in found}

    def villages(self) -> list[str]:
        """The codes of every village and community (12 digits): grids hang below them."""
        return [d["_id"] for d in self.divisions.find({"level": "village"}, {"_id": 1})]

    def divisions_under(self, prefix: str | None = None) -> list[dict]:
        query = {"_id": prefix_range(prefix)} if prefix else {}
        return list(self.divisions.find(query).sort("_id", ASCENDING))

    def put_division(self, doc: dict, session: ClientSession | None = None) -> str:
        """Insert or update; answers 'created', 'updated' or 'unchanged'."""
        current = self.divisions.find_one({"_id": doc["_id"]}, session=session)
        if current is None:
            self.divisions.insert_one(doc, session=session)
            return "created"
        if all(current.get(k) == doc.get(k) for k in ("name", "level", "parent")):
            return "unchanged"
        changes = {k: v for k, v in doc.items() if current.get(k) != v}
        self.divisions.update_one({"_id": doc["_id"]}, {"$set": changes}, session=session)
        return "updated"

    # --- grids -------------------------------------------------------------------------
    def grid(self, code: str, session: ClientSession | None = None) -> dict | None:
        return self.grids.find_one({"_id": code}, session=session)

    def grids_by_codes(self, codes: Iterable[str], session=None) -> dict[str, dict]:
        codes = list(codes)
        if not codes:
            return {}
        return {g["_id"]: g for g in self.grids.find({"_id": {"$in": codes}}, session=session)}

    def grids_under(self, prefix: str, level: int | None = None, session=None) -> list[dict]:
        """Live grids whose code starts with `prefix` (retired ones are left out)."""
        query: dict[str, Any] = {"_id": prefix_range(prefix), "retired": {"$ne": True}}
        if level is not None:
            query["level"] = level
        return list(self.grids.find(query, session=session).sort("_id", ASCENDING))

    def children(self, parent: str, session=None) -> list[dict]:
        query = {"parent": parent, "retired": {"$ne": True}}
        return list(self.grids.find(query, session=session).sort("_id", ASCENDING))

    def insert_grids(self, docs: list[dict], session) -> None:
        self._insert(self.grids, docs, session, _grid_exists)

    def replace_grids(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.grids, docs, session, _grid_exists)

    def boundaries(self) -> Iterator[tuple[str, dict]]:
        """Every live grid's boundary, for the locate index."""
        cursor = self.grids.find(
            {"retired": {"$ne": True}, "boundary": {"$ne": None}}, {"boundary": 1}
        ).batch_size(5000)
        for doc in cursor:
            yield doc["_id"], doc["boundary"]

    # --- households --------------------------------------------------------------------
    def household(self, household_id: str, session=None) -> dict | None:
        return self.households.find_one({"_id": household_id}, session=session)

    def households_by_ids(self, ids: Iterable[str]) -> dict[str, dict]:
        found = self.households.find({"_id": {"$in": sorted(set(ids))}})
        return {d["_id"]: d for d in found}

    def households_by_keys(self, keys: list[str], session=None) -> dict[str, dict]:
        """Households by address key. Fetched by village range rather than `$in`: a range
        scan is an order of magnitude faster than thousands of point look-ups here."""
        wanted = set(keys)
        found: dict[str, dict] = {}
        for village in sorted({k[:12] for k in wanted}):
            cursor = self.households.find({"grid_code": prefix_range(village)}, session=session)
            for doc in cursor.batch_size(5000):
                if doc["address_key"] in wanted:
                    found[doc["address_key"]] = doc
        return found

    def insert_households(self, docs: list[dict], session) -> None:
        self._insert(self.households, docs, session, households.exists)

    def replace_households(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.households, docs, session, households.exists)

    def mark_visited(self, household_id: str, at: datetime, care: bool, session=None) -> None:
        fields = {"last_visit_at": at, **({"last_care_at": at} if care else {})}
        self.households.update_one({"_id": household_id}, {"$max": fields}, session=session)

    def search_households(
        self, prefixes: Iterable[str], search: households.Search, limit: int, skip: int
    ) -> list[dict]:
        """Households under any of `prefixes` (each a caller's scope, or narrower), by
        member-name prefix, tag and building, in address order."""
        # One flat query per prefix, merged here: SecantusDB plans `$and`/`$or` of ranges as
        # a collection scan, a flat {field: …, grid_code: range} with an index.
        filters: dict[str, Any] = {}
        name, tag, building = search.name, search.tag, search.building
        if name:
            # $elemMatch: one name must satisfy both ends of the range (a bare range on
            # an array lets two different names satisfy one end each)
            filters["names"] = {"$elemMatch": prefix_range(name)}
        if tag:
            filters["tags"] = tag
        if building:
            filters["address.building"] = building
        found: list[dict] = []
        for prefix in narrowest(prefixes):
            query = {"grid_code": prefix_range(prefix), **filters}
            cursor = self.households.find(query).sort("grid_code", ASCENDING)
            found.extend(cursor.limit(skip + limit))
        found.sort(key=lambda d: (d["grid_code"], d.get("address_key", "")))
        return found[skip : skip + limit]

    def households_by_id_hash(self, id_hash: str, prefixes: Iterable[str]) -> list[dict]:
        wanted = list(prefixes)
        found = self.households.find({"members.id_hash": id_hash}).limit(200)
        return [d for d in found if any(d["grid_code"].startswith(p) for p in wanted)][:20]

    def duty_rows(self, prefix: str) -> list[dict]:
        """What the duty engine needs of every household under a grid."""
        projection = {
            "grid_code": 1,
            "created_at": 1,
            "last_visit_at": 1,
            "last_care_at": 1,
            "tags": 1,
            "address": 1,
        }
        return list(self.households.find({"grid_code": prefix_range(prefix)}, projection))

    def household_grid_codes(self, prefix: str) -> list[str]:
        cursor = self.households.find({"grid_code": prefix_range(prefix)}, {"grid_code": 1})
        return [d["grid_code"] for d in cursor]

    def households_in(self, prefix: str, session=None) -> Iterator[dict]:
        cursor = self.households.find({"grid_code": prefix_range(prefix)}, session=session)
        return iter(cursor.sort("address_key", ASCENDING).batch_size(2000))

    # --- places (five-element archive) -------------------------------------------------
    def place(self, place_id: str, session=None) -> dict | None:
        return self.places.find_one({"_id": place_id}, session=session)

    def places_by_keys(self, keys: list[str], session=None) -> dict[str, dict]:
        cursor = self.places.find({"place_key": {"$in": keys}}, session=session)
        return {d["place_key"]: d for d in cursor}

    def insert_places(self, docs: list[dict], session) -> None:
        self._insert(self.places, docs, session, places.exists)

    def replace_places(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.places, docs, session, places.exists)

    def places_under(self, prefix: str, kind: str | None = None, limit: int = 500) -> list[dict]:
        query: dict[str, Any] = {"grid_code": prefix_range(prefix)}
        if kind:
            query["kind"] = kind
        return list(self.places.find(query).sort("place_key", ASCENDING).limit(limit))

    # --- staff posts -------------------------------------------------------------------
    def posts_of_grid(self, code: str, session=None) -> list[dict]:
        return list(self.posts.find({"grid_code": code}, session=session).sort("_id", 1))

    def posts_under(self, prefix: str, session=None) -> list[dict]:
        query = {"grid_code": prefix_range(prefix)}
        return list(self.posts.find(query, session=session).sort("_id", 1))

    def posts_of_grids(self, codes: Iterable[str]) -> list[dict]:
        return list(self.posts.find({"grid_code": {"$in": list(codes)}}).sort("_id", 1))

    def posts_of_user(self, user_id: str) -> list[dict]:
        return list(self.posts.find({"user_id": user_id}).sort("grid_code", 1))

    def post(self, post_id: str, session=None) -> dict | None:
        return self.posts.find_one({"_id": post_id}, session=session)

    def posts_by_ids(self, ids: Iterable[str], session=None) -> dict[str, dict]:
        found = self.posts.find({"_id": {"$in": sorted(set(ids))}}, session=session)
        return {d["_id"]: d for d in found}

    def insert_posts(self, docs: list[dict], session) -> None:
        self._insert(self.posts, docs, session, _post_exists)

    def replace_posts(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.posts, docs, session, _post_exists)

    def delete_post(self, post_id: str, session=None) -> bool:
        return self.posts.delete_one({"_id": post_id}, session=session).deleted_count == 1

    # --- reserve team and party overlay ------------------------------------------------
    def reserve_of(self, code: str) -> list[dict]:
        return list(self.reserve.find({"grid_code": code}).sort("name", 1))

    def reserve_member(self, member_id: str, session=None) -> dict | None:
        return self.reserve.find_one({"_id": member_id}, session=session)

    def insert_reserve(self, docs: list[dict], session) -> None:
        self._insert(self.reserve, docs, session, _reserve_exists)

    def replace_reserve(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.reserve, docs, session, _reserve_exists)

    def delete_reserve(self, member_id: str, session=None) -> bool:
        return self.reserve.delete_one({"_id": member_id}, session=session).deleted_count == 1

    def party_unit(self, grid_code: str, session=None) -> dict | None:
        return self.party_units.find_one({"_id": grid_code}, session=session)

    def insert_party_units(self, docs: list[dict], session) -> None:
        self._insert(self.party_units, docs, session, _party_exists)

    def replace_party_units(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.party_units, docs, session, _party_exists)

    def party_units_under(self, prefix: str) -> list[dict]:
        return list(self.party_units.find({"_id": prefix_range(prefix)}).sort("_id", 1))

    def party_link(self, link_id: str, session=None) -> dict | None:
        return self.party_links.find_one({"_id": link_id}, session=session)

    def insert_party_links(self, docs: list[dict], session) -> None:
        self._insert(self.party_links, docs, session, _party_exists)

    def replace_party_links(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.party_links, docs, session, _party_exists)

    def delete_party_link(self, link_id: str, session=None) -> bool:
        return self.party_links.delete_one({"_id": link_id}, session=session).deleted_count == 1

    def party_links_under(self, prefix: str) -> list[dict]:
        return list(self.party_links.find({"grid_code": prefix_range(prefix)}).sort("_id", 1))

    # --- visits ------------------------------------------------------------------------
    def visit(self, visit_id: str, session=None) -> dict | None:
        return self.visits.find_one({"_id": visit_id}, session=session)

    def insert_visits(self, docs: list[dict], session) -> None:
        self._insert(self.visits, docs, session, _visit_exists)

    def replace_visits(self, docs: list[dict], session) -> list[str]:
        return self._replace(self.visits, docs, session, _visit_exists)

    def visits_of(self, listing: visits.Listing, limit: int) -> list[dict]:
        """Visits not voided, newest first, by household, worker and grid prefix."""
        query: dict[str, Any] = {"voided": None}
        if listing.household_id:
            query["household_id"] = listing.household_id
        if listing.worker_id:
            query["worker_id"] = listing.worker_id
        if listing.grid_prefix:
            query["grid_code"] = prefix_range(listing.grid_prefix)
        return list(self.visits.find(query).sort("occurred_at", DESCENDING).limit(limit))

    def count_visits(self, worker_id: str, grid_prefix: str, since: datetime) -> int:
        """Visits (not voided) by a worker under a grid since a time."""
        query = {
            "worker_id": worker_id,
            "grid_code": prefix_range(grid_prefix),
            "occurred_at": {"$gte": since},
            "voided": None,
        }
        return self.visits.count_documents(query)

    def last_visits(self, household_id: str, session) -> tuple[datetime | None, datetime | None]:
        """When the household was last visited, and last visited with care (voided visits
        do not count)."""
        query = {"household_id": household_id, "voided": None}
        found = {}
        for key, extra in (("last", {}), ("care", {"kind": "care"})):
            doc = self.visits.find_one(
                {**query, **extra}, sort=[("occurred_at", DESCENDING)], session=session
            )
            found[key] = doc["occurred_at"] if doc else None
        return found["last"], found["care"]

    def set_last_visits(
        self, household_id: str, last: datetime | None, care: datetime | None, session
    ) -> None:
        changes = {"last_visit_at": last, "last_care_at": care}
        self.households.update_one({"_id": household_id}, {"$set": changes}, session=session)

    # --- once-a-day jobs shared by every instance ------------------------------------------
    def claim_job(self, job_id: str, now: datetime, stale_after: timedelta) -> dict | None:
        """The job for this instance to run: a new claim, or one left unfinished by an
        instance that died (claimed longer than `stale_after` ago); None when another
        instance holds it or it is done. The unique `_id` makes the claim."""
        try:
            doc = {"_id": job_id, "claimed_at": now, "after": "", "done": False}
            self.jobs.insert_one(doc)
            return doc
        except DuplicateKeyError:
            return self.jobs.find_one_and_update(
                {"_id": job_id, "done": False, "claimed_at": {"$lt": now - stale_after}},
                {"$set": {"claimed_at": now}},
                return_document=ReturnDocument.AFTER,
            )

    def job(self, job_id: str) -> dict | None:
        return self.jobs.find_one({"_id": job_id})

    def advance_job(self, job_id: str, after: str, session, done: bool = False) -> None:
        """Record how far a job got (in the transaction of the work done up to there)."""
        self.jobs.update_one(
            {"_id": job_id}, {"$set": {"after": after, "done": done}}, session=session
        )

    # --- audit and imports -------------------------------------------------------------
    def write_audit(self, entry: dict) -> None:
        self.audit.insert_one({"_id": new_id(), **entry})

    def audit_entries(
        self, prefix: str, kind: str | None, actor: str | None, limit: int
    ) -> list[dict]:
        """Entries about codes under `prefix`, newest first (one flat indexed query)."""
        query: dict[str, Any] = {"scope": prefix_range(prefix)}
        query.update({k: v for k, v in (("kind", kind), ("actor", actor)) if v})
        return list(self.audit.find(query).sort("at", DESCENDING).limit(limit))

    # --- the re-key command's batches (rekey.py) ---------------------------------------------
    def sealed_page(self, kind: str, after: str, limit: int) -> list[dict]:
        """Up to `limit` records of a kind that holds sealed values, in id order after
        `after`."""
        query = {"_id": {"$gt": after}} if after else {}
        return list(self._sealed[kind].find(query).sort("_id", ASCENDING).limit(limit))

    def reseal(self, kind: str, docs: list[dict], session) -> int:
        """Write records whose sealed values moved under the current key, each only where
        its stored version is still the one read (a record changed meanwhile was sealed
        anew by that change). The version stays: nothing a reader sees has changed."""
        if not docs:
            return 0
        ops = [ReplaceOne({"_id": d["_id"], "version": d.get("version")}, d) for d in docs]
        result = self._sealed[kind].bulk_write(ops, ordered=False, session=session)
        return result.modified_count

    def import_record(self, digest: str) -> dict | None:
        return self.imports.find_one({"_id": digest})

    def record_import(self, doc: dict, session=None) -> None:
        self.imports.replace_one({"_id": doc["_id"]}, doc, upsert=True, session=session)


def _duplicate(exc: BulkWriteError, chunk: list[dict], exists: Callable[[dict], Any]):
    """The named error of a bulk write refused for a duplicate key (else the error itself)."""
    errors = exc.details.get("writeErrors") or []
    dup = next((e for e in errors if e.get("code") == 11000), None)
    if dup is None:
        return exc
    return exists(chunk[dup.get("index", 0)])


def _visit_exists(doc: dict) -> AlreadyExists:
    return AlreadyExists("this visit is already recorded", details={"visit_id": doc["_id"]})


def _post_exists(doc: dict) -> AlreadyExists:
    return AlreadyExists("this post is already held", details={"post": doc["_id"]})


def _reserve_exists(doc: dict) -> AlreadyExists:
    return AlreadyExists("already on the reserve team", details={"member_id": doc["_id"]})


def _party_exists(doc: dict) -> AlreadyExists:
    return AlreadyExists("already recorded", details={"id": doc["_id"]})


def _grid_exists(doc: dict) -> AlreadyExists:
    return AlreadyExists(
        f"grid code {doc['_id']} exists (codes are never reused)", details={"code": doc["_id"]}
    )


class GridStorage(MongoProvider):
    def __init__(self, **kwargs):
        super().__init__("grid", **kwargs)

    def wrap(self, client, db):
        return GridStore(client, db)
