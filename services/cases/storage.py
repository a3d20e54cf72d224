"""Cases storage, in the `wg_cases` database, behind the `CaseStore` protocol.

A case moves through ONE write verb, `replace_case(doc, version_was, session)`: a
replace conditional on the version the move was judged from, so two people accepting the
same case at once cannot both win (the second matches nothing: Conflict). Timeline entries
are only ever inserted (`append_timeline`); nothing updates or deletes them.

Collections: cases, timeline, categories, calendar, photos (+ GridFS bucket `photos`),
tallies (figures per grid, division and month), tally_deltas (what writes add to
them, folded by a timer), board (the public 晒单 entries), counters (case
numbers), commands, outbox, processed_events, dead_letters.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import gridfs
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from contracts.scope import prefix_range
from services.cases import taxonomy
from services.cases.figures import areas
from services.kit.commands import Commands
from services.kit.mongo import MongoProvider, in_transaction

T = TypeVar("T")
Session = ClientSession | None
LATEST = 120  # board entries each area keeps ready (six pages of 20)
OPEN = ["reported", "registered", "dispatched", "escalated", "handling", "handled"]


def assignee_key(assignee: dict | None) -> str | None:
    """How a case is found by who holds it: "person:<id>" or "unit:<level>:<code>"."""
    if not assignee:
        return None
    if assignee.get("kind") == "person":
        return f"person:{assignee.get('id')}"
    return f"unit:{assignee.get('level')}:{assignee.get('code')}"


def cell_index(location: dict) -> tuple[int, int]:
    """The 0.001° map cell a point lies in (duplicates are looked for in the cells around)."""
    return int(location["lon"] * 1000 // 1), int(location["lat"] * 1000 // 1)


def cells_around(location: dict) -> list[str]:
    """The map cell of a point and its eight neighbours: every point within 50 m of it lies
    in one of them (a cell is 0.001° square, about 96 m × 111 m here)."""
    x, y = cell_index(location)
    return [f"{x + dx}:{y + dy}" for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


def _stored(doc: dict) -> dict:
    """The case as kept: with the keys its lists and the duplicate check look it up by (a
    case keeps the cells around it, so a report finds it with one equality)."""
    location = doc.get("location")
    return {
        **doc,
        "assignee_key": assignee_key(doc.get("assignee")),
        "near": cells_around(location) if location else [],
    }


class CaseStore(Protocol):
    """What the cases service asks of its database: domain verbs, no query dicts."""

    def ping(self) -> None: ...
    def transaction(self, work: Callable[[ClientSession], T]) -> T: ...
    def run_command(self, kind: str, key: str, body: Any, execute: Callable) -> Any: ...
    def next_number(self, day: str) -> int: ...

    # cases and their timelines
    def insert_case(self, doc: dict, session: ClientSession) -> None: ...
    def replace_case(self, doc: dict, version_was: int, session: ClientSession) -> bool: ...
    def case(self, case_id: str, session: Session = None) -> dict | None: ...
    def case_by_number(self, number: str) -> dict | None: ...
    def public_cases(
        self,
        *,
        numbers: list[str] | None,
        categories: list[str] | None,
        since: datetime | None,
        until: datetime | None,
        skip: int,
        limit: int,
    ) -> list[dict]: ...
    def cases_by_ids(self, ids: Iterable[str]) -> list[dict]: ...
    def append_timeline(self, entries: list[dict], session: ClientSession) -> None: ...
    def timeline(self, case_id: str) -> list[dict]: ...
    def add_follower(self, case_id: str, actor: str, session: ClientSession) -> None: ...
    def cases_under(
        self, prefix: str, *, state: str | None, category: str | None, skip: int, limit: int
    ) -> list[dict]: ...
    def cases_alerting(self, prefix: str, skip: int, limit: int) -> list[dict]: ...
    def cases_held_by(self, keys: list[str], skip: int, limit: int) -> list[dict]: ...
    def cases_followed(self, actor: str, skip: int, limit: int) -> list[dict]: ...
    def open_near(self, category: str, location: dict, since: datetime) -> list[dict]: ...
    def due_reminders(self, now: datetime, limit: int) -> list[dict]: ...
    def due_overdue(self, now: datetime, limit: int) -> list[dict]: ...
    def claim_reminder(self, case_id: str, remind_at: datetime, session: ClientSession) -> bool: ...

    # categories and the calendar
    def categories(self) -> list[dict]: ...
    def category(self, code: str, session: Session = None) -> dict | None: ...
    def insert_category(self, doc: dict) -> bool: ...
    def replace_category(self, doc: dict, version_was: int) -> bool: ...
    def calendar(self) -> dict | None: ...
    def put_calendar(self, doc: dict, version_was: int) -> bool: ...

    # photos
    def put_photo_files(self, meta: dict, full: bytes, thumb: bytes) -> None: ...
    def drop_photo_files(self, meta: dict) -> None: ...
    def insert_photo(self, meta: dict, session: ClientSession) -> None: ...
    def photo(self, photo_id: str, session: Session = None) -> dict | None: ...
    def photo_bytes(self, meta: dict, size: str) -> bytes: ...
    def attach_photos(
        self, ids: list[str], owner: str, case_id: str, session: ClientSession
    ) -> int: ...

    # figures and the public board
    def tally(
        self,
        code: str,
        parent: str,
        grid_name: str | None,
        month: str,
        counts: dict[str, int],
        session,
    ) -> None: ...
    def add_deltas(self, deltas: list[dict], session: ClientSession) -> None: ...
    def pending_deltas(self, limit: int, session: ClientSession) -> list[dict]: ...
    def drop_deltas(self, ids: list[Any], session: ClientSession) -> int: ...
    def tallies_of(self, code: str) -> list[dict]: ...
    def tallies_below(self, code: str) -> list[dict]: ...
    def put_board(self, doc: dict, session: ClientSession) -> None: ...
    def drop_board(self, case_id: str, session: ClientSession) -> None: ...
    def board_under(self, code: str, skip: int, limit: int) -> list[dict]: ...


class MongoCaseStore:
    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.db = db
        self.case_list = db["cases"]
        self.timeline_log = db["timeline"]
        self.category_list = db["categories"]
        self.calendars = db["calendar"]
        self.photo_list = db["photos"]
        self.bucket = gridfs.GridFSBucket(db, bucket_name="photos")
        self.tally_list = db["tallies"]
        self.delta_list = db["tally_deltas"]
        self.board_list = db["board"]
        self.latest = db["board_latest"]
        self.counters = db["counters"]
        self.commands = Commands(client, db)

    def prepare(self) -> None:
        c = self.case_list
        c.create_index([("number", ASCENDING)], unique=True)
        c.create_index([("grid_code", ASCENDING), ("created_at", DESCENDING)])
        c.create_index([("assignee_key", ASCENDING), ("created_at", DESCENDING)])
        c.create_index([("followers", ASCENDING), ("created_at", DESCENDING)])
        c.create_index([("alert", ASCENDING), ("grid_code", ASCENDING)], sparse=True)
        c.create_index([("category", ASCENDING), ("near", ASCENDING)])
        c.create_index([("created_at", DESCENDING)])
        c.create_index([("due_remind", ASCENDING)], sparse=True)
        c.create_index([("due_overdue", ASCENDING)], sparse=True)
        self.timeline_log.create_index([("case_id", ASCENDING), ("seq", ASCENDING)], unique=True)
        self.photo_list.create_index([("case_id", ASCENDING)])
        self.tally_list.create_index([("code", ASCENDING), ("month", ASCENDING)])
        self.tally_list.create_index([("parent", ASCENDING), ("month", ASCENDING)])
        self.board_list.create_index([("areas", ASCENDING), ("closed_at", DESCENDING)])
        self.seed_categories()

    def seed_categories(self) -> int:
        """The standard taxonomy, added where a code is missing (operators' edits stay)."""
        now = datetime.now(UTC)
        added = 0
        for data in taxonomy.DEFAULTS:
            if self.category(data["code"]) is None:
                added += self.insert_category(taxonomy.record(data, now, "service:cases"))
        return added

    def ping(self) -> None:
        self.db.command("ping")

    def transaction(self, work: Callable[[ClientSession], T]) -> T:
        return in_transaction(self.client, work)

    def run_command(self, kind: str, key: str, body: Any, execute: Callable) -> Any:
        return self.commands.run(kind, key, body, execute)

    def next_number(self, day: str) -> int:
        """The day's next case number; outside any transaction, so concurrent reports never
        conflict on the counter (a report that then fails leaves a gap, nothing worse)."""
        doc = self.counters.find_one_and_update(
            {"_id": f"case:{day}"},
            {"$inc": {"n": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["n"])

    # --- cases ---------------------------------------------------------------------------
    def insert_case(self, doc: dict, session: ClientSession) -> None:
        self.case_list.insert_one(_stored(doc), session=session)

    def replace_case(self, doc: dict, version_was: int, session: ClientSession) -> bool:
        done = self.case_list.replace_one(
            {"_id": doc["_id"], "version": version_was}, _stored(doc), session=session
        )
        return done.matched_count == 1

    def case(self, case_id: str, session: Session = None) -> dict | None:
        return self.case_list.find_one({"_id": str(case_id)}, session=session)

    def case_by_number(self, number: str) -> dict | None:
        return self.case_list.find_one({"number": str(number)})

    def public_cases(
        self,
        *,
        numbers: list[str] | None,
        categories: list[str] | None,
        since: datetime | None,
        until: datetime | None,
        skip: int,
        limit: int,
    ) -> list[dict]:
        """Cases for outside clients (Open311), newest first: by number, or by categories
        and a time range (one range: SecantusDB scans on two)."""
        if numbers is not None:
            return list(self.case_list.find({"number": {"$in": numbers}}).limit(limit))
        query: dict[str, Any] = {}
        if since or until:
            query["created_at"] = {
                **({"$gte": since} if since else {}),
                **({"$lte": until} if until else {}),
            }
        if categories:
            query["category"] = {"$in": list(categories)}
        found = self.case_list.find(query).sort("created_at", DESCENDING)
        return list(found.skip(max(0, skip)).limit(limit))

    def cases_by_ids(self, ids: Iterable[str]) -> list[dict]:
        wanted = [str(i) for i in ids]
        return list(self.case_list.find({"_id": {"$in": wanted}})) if wanted else []

    def append_timeline(self, entries: list[dict], session: ClientSession) -> None:
        if entries:
            self.timeline_log.insert_many(entries, ordered=True, session=session)

    def timeline(self, case_id: str) -> list[dict]:
        return list(self.timeline_log.find({"case_id": case_id}).sort("seq", ASCENDING))

    def add_follower(self, case_id: str, actor: str, session: ClientSession) -> None:
        self.case_list.update_one(
            {"_id": case_id}, {"$addToSet": {"followers": actor}}, session=session
        )

    def _page(self, query: dict, skip: int, limit: int) -> list[dict]:
        found = self.case_list.find(query).sort("created_at", DESCENDING)
        return list(found.skip(max(0, skip)).limit(limit))

    def cases_under(
        self, prefix: str, *, state: str | None, category: str | None, skip: int, limit: int
    ) -> list[dict]:
        query: dict[str, Any] = {"grid_code": prefix_range(prefix)} if prefix else {}
        if state:
            query["state"] = state
        if category:
            query["category"] = category
        return self._page(query, skip, limit)

    def cases_alerting(self, prefix: str, skip: int, limit: int) -> list[dict]:
        query: dict[str, Any] = {"alert": {"$in": ["soon", "overdue", "supervised"]}}
        found = [d for d in self.case_list.find(query) if d["grid_code"].startswith(prefix)]
        found.sort(key=lambda d: d.get("due_overdue") or d["created_at"])
        return found[skip : skip + limit]

    def cases_held_by(self, keys: list[str], skip: int, limit: int) -> list[dict]:
        return self._page({"assignee_key": {"$in": keys}, "state": {"$in": OPEN}}, skip, limit)

    def cases_followed(self, actor: str, skip: int, limit: int) -> list[dict]:
        return self._page({"followers": actor}, skip, limit)

    def open_near(self, category: str, location: dict, since: datetime) -> list[dict]:
        """Open cases of a category near a point (its map cell or one beside it) reported
        since `since`."""
        x, y = cell_index(location)
        query = {"category": category, "near": f"{x}:{y}"}
        fields = {"state": 1, "location": 1, "number": 1, "title": 1, "created_at": 1}
        return [
            d
            for d in self.case_list.find(query, fields)
            if d["state"] in OPEN and d["created_at"] >= since
        ]

    def due_reminders(self, now: datetime, limit: int) -> list[dict]:
        query = {"due_remind": {"$lte": now}}
        return list(self.case_list.find(query).sort("due_remind", ASCENDING).limit(limit))

    def due_overdue(self, now: datetime, limit: int) -> list[dict]:
        query = {"due_overdue": {"$lte": now}}
        return list(self.case_list.find(query).sort("due_overdue", ASCENDING).limit(limit))

    def claim_reminder(self, case_id: str, remind_at: datetime, session: ClientSession) -> bool:
        """Take the reminder of the step now running; False when another instance did."""
        done = self.case_list.update_one(
            {"_id": case_id, "due_remind": remind_at},
            {"$unset": {"due_remind": ""}, "$set": {"alert": "soon"}},
            session=session,
        )
        return done.modified_count == 1

    # --- categories and calendar ---------------------------------------------------------
    def categories(self) -> list[dict]:
        return list(self.category_list.find().sort([("group", ASCENDING), ("_id", ASCENDING)]))

    def category(self, code: str, session: Session = None) -> dict | None:
        return self.category_list.find_one({"_id": code}, session=session)

    def insert_category(self, doc: dict) -> bool:
        try:
            self.category_list.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def replace_category(self, doc: dict, version_was: int) -> bool:
        done = self.category_list.replace_one({"_id": doc["_id"], "version": version_was}, doc)
        return done.matched_count == 1

    def calendar(self) -> dict | None:
        return self.calendars.find_one({"_id": "default"})

    def put_calendar(self, doc: dict, version_was: int) -> bool:
        if version_was == 0:
            try:
                self.calendars.insert_one({**doc, "_id": "default"})
            except DuplicateKeyError:
                return False
            return True
        done = self.calendars.replace_one(
            {"_id": "default", "version": version_was}, {**doc, "_id": "default"}
        )
        return done.matched_count == 1

    # --- photos --------------------------------------------------------------------------
    def put_photo_files(self, meta: dict, full: bytes, thumb: bytes) -> None:
        """The image and its thumbnail in GridFS (which takes no part in transactions: the
        record that makes them a photo is inserted afterwards, in one)."""
        self.bucket.upload_from_stream_with_id(meta["full_id"], f"{meta['_id']}.jpg", full)
        self.bucket.upload_from_stream_with_id(meta["thumb_id"], f"{meta['_id']}-t.jpg", thumb)

    def drop_photo_files(self, meta: dict) -> None:
        for file_id in (meta["full_id"], meta["thumb_id"]):
            with contextlib.suppress(gridfs.errors.NoFile):
                self.bucket.delete(file_id)

    def insert_photo(self, meta: dict, session: ClientSession) -> None:
        self.photo_list.insert_one(meta, session=session)

    def photo(self, photo_id: str, session: Session = None) -> dict | None:
        return self.photo_list.find_one({"_id": str(photo_id)}, session=session)

    def photo_bytes(self, meta: dict, size: str) -> bytes:
        file_id = meta["thumb_id"] if size == "thumb" else meta["full_id"]
        return self.bucket.open_download_stream(file_id).read()

    def attach_photos(
        self, ids: list[str], owner: str, case_id: str, session: ClientSession
    ) -> int:
        """Give the caller's unattached uploads to a case; how many were theirs to give."""
        done = self.photo_list.update_many(
            {"_id": {"$in": ids}, "owner": owner, "case_id": None},
            {"$set": {"case_id": case_id}},
            session=session,
        )
        return done.modified_count

    # --- figures and the board -----------------------------------------------------------
    def tally(
        self,
        code: str,
        parent: str,
        grid_name: str | None,
        month: str,
        counts: dict[str, int],
        session,
    ) -> None:
        """Add to the month's tally of `code` (a grid, or a division it lies in)."""
        update: dict[str, Any] = {
            "$inc": counts,
            "$setOnInsert": {"code": code, "parent": parent, "month": month},
        }
        if grid_name:
            update["$set"] = {"grid_name": grid_name}
        self.tally_list.update_one({"_id": f"{code}|{month}"}, update, upsert=True, session=session)

    def add_deltas(self, deltas: list[dict], session: ClientSession) -> None:
        if deltas:
            self.delta_list.insert_many(deltas, session=session)

    def pending_deltas(self, limit: int, session: ClientSession) -> list[dict]:
        return list(self.delta_list.find({}, session=session).sort("_id", ASCENDING).limit(limit))

    def drop_deltas(self, ids: list[Any], session: ClientSession) -> int:
        return self.delta_list.delete_many({"_id": {"$in": ids}}, session=session).deleted_count

    def tallies_of(self, code: str) -> list[dict]:
        return list(self.tally_list.find({"code": code}))

    def tallies_below(self, code: str) -> list[dict]:
        """The tallies one level below `code` (its towns, villages, grids…)."""
        return list(self.tally_list.find({"parent": code}))

    # The board's first pages come from one small document per area: SecantusDB sorts every
    # matching entry in memory (it uses no index for order), which for a county of 10,000
    # closed cases is most of a second. Each area keeps its newest LATEST entries, sorted as
    # they are pushed, and how many it has in all; a list is always the newest entries in
    # order (what it drops is older than what it keeps), so a page inside it, or a whole
    # list that holds every entry, is the same answer the full query gives.
    def put_board(self, doc: dict, session: ClientSession) -> None:
        done = self.board_list.replace_one(
            {"_id": doc["_id"]},
            {**doc, "areas": areas(doc["grid_code"])},
            upsert=True,
            session=session,
        )
        new = done.upserted_id is not None
        for area in areas(doc["grid_code"]):
            self.latest.update_one(
                {"_id": area},
                {"$pull": {"items": {"_id": doc["_id"]}}},
                upsert=True,
                session=session,
            )
            self.latest.update_one(
                {"_id": area},
                {
                    "$push": {
                        "items": {"$each": [doc], "$sort": {"closed_at": -1}, "$slice": LATEST}
                    },
                    "$inc": {"total": 1 if new else 0},
                },
                session=session,
            )

    def drop_board(self, case_id: str, session: ClientSession) -> None:
        doc = self.board_list.find_one_and_delete({"_id": case_id}, session=session)
        for area in areas(doc["grid_code"]) if doc else []:
            self.latest.update_one(
                {"_id": area},
                {"$pull": {"items": {"_id": case_id}}, "$inc": {"total": -1}},
                session=session,
            )

    def board_under(self, code: str, skip: int, limit: int) -> list[dict]:
        kept = self.latest.find_one({"_id": code}) if code else None
        if kept is not None:
            items = kept.get("items") or []
            if skip + limit <= len(items) or len(items) >= kept.get("total", 0):
                return items[skip : skip + limit]
        query = {"areas": code} if code else {}
        found = self.board_list.find(query, {"areas": 0}).sort("closed_at", DESCENDING)
        return list(found.skip(max(0, skip)).limit(limit))


class CaseStorage(MongoProvider):
    def __init__(self, **kwargs: Any):
        super().__init__("cases", **kwargs)

    def wrap(self, client, db) -> MongoCaseStore:
        return MongoCaseStore(client, db)
