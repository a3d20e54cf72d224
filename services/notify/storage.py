"""Notify storage, in the `wg_notify` database, behind the `NotifyStore` protocol.

Messages are written one way (`messages.deliver`): `reserve_numbers` raises each user's
mailbox counter by the messages coming (`seq`, in commit order per user: a write to the
mailbox makes two transactions for one user take turns) and their unread count, and answers
the mailboxes, which also hold the user's preferences and Web Push subscriptions, so one
batch of 500 recipients costs one bulk write and one read; then `insert_messages`. The live
stream resumes from that number (`Last-Event-ID`), so nothing a user was sent can slip
between a reconnect and the inbox.

Collections: `messages`, `mailboxes` {seq, unread, prefs, push: [subscriptions]},
`deliveries` (one per message and outward channel: push, sms, and the open app's receipt),
`digests` (a user's burst window per kind), `templates`, `announcements` and
`announcement_batches` (a job's recipients in batches of 500), `receipts` (echo), plus the
kit's `outbox`, `processed_events`, `dead_letters` and `commands`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from contracts.scope import prefix_range
from services.kit.commands import Commands
from services.kit.mongo import MongoProvider, PingStore, in_transaction

T = TypeVar("T")
Session = ClientSession | None


class NotifyStore(Protocol):
    """What the notify service asks of its database: domain verbs, no query dicts. The fakes
    of unit tests implement this."""

    def ping(self) -> None: ...
    def transaction(self, work: Callable[[ClientSession], T]) -> T: ...
    def run_command(self, kind: str, client_id: str, body: Any, execute: Callable) -> Any: ...
    def insert_receipt(self, doc: dict, session: ClientSession) -> None: ...

    # messages (written by messages.deliver only), and reads
    def reserve_numbers(self, counts: dict[str, int], session: ClientSession) -> dict: ...
    def insert_messages(self, docs: list[dict], session: ClientSession) -> None: ...
    def inbox(
        self, user: str, before: int | None, limit: int, unread: bool, kind: str | None = None
    ) -> list[dict]: ...
    def mailbox(self, user: str) -> dict: ...
    def messages_since(self, user: str, seq: int, limit: int) -> list[dict]: ...
    def message(self, message_id: str) -> dict | None: ...
    def mark_read(
        self, user: str, ids: list[str] | None, at: datetime, session: ClientSession
    ) -> tuple[list[str], int]: ...

    # deliveries (push, sms, the open app's receipt) and their retries
    def put_deliveries(self, docs: list[dict], session: ClientSession) -> None: ...
    def claim_due_delivery(self, now: datetime, lease_until: datetime) -> dict | None: ...
    def update_delivery(self, delivery_id: str, changes: dict, entry: dict) -> None: ...
    def record_receipts(self, receipts: list[dict], session: ClientSession) -> int: ...
    def deliveries_of(self, message_id: str) -> list[dict]: ...
    def deliveries_in(self, state: str, limit: int) -> list[dict]: ...
    def delivery(self, delivery_id: str) -> dict | None: ...

    # digests of bursts
    def digest_window(
        self, user: str, kind: str, now: datetime, until: datetime, place: str | None, s: Any
    ) -> bool: ...
    def due_digests(self, now: datetime, limit: int = 200) -> list[dict]: ...
    def take_digest(self, digest_id: str, now: datetime, until: datetime) -> dict | None: ...

    # preferences, templates, push subscriptions (the last two kept on the mailbox)
    def preferences(self, user: str) -> dict | None: ...
    def put_preferences(self, user: str, doc: dict) -> None: ...
    def templates(self) -> dict[str, dict]: ...
    def put_template(self, kind: str, doc: dict) -> None: ...
    def subscriptions_of(self, users: Iterable[str], session: Session = None) -> dict: ...
    def put_subscription(self, doc: dict) -> None: ...
    def remove_subscription(self, endpoint: str, user: str | None = None) -> int: ...

    # announcements and their jobs
    def insert_announcement(self, doc: dict, session: ClientSession) -> None: ...
    def announcement(self, announcement_id: str) -> dict | None: ...
    def announcements_under(self, prefixes: list[str], limit: int) -> list[dict]: ...
    def claim_job(self, now: datetime, owner: str, lease_until: datetime) -> dict | None: ...
    def renew_job(self, announcement_id: str, owner: str, lease_until: datetime) -> bool: ...
    def set_announcement(self, announcement_id: str, changes: dict, s: Session = None) -> None: ...
    def put_batches(self, announcement_id: str, batches: list[list[dict]]) -> None: ...
    def pending_batches(self, announcement_id: str) -> list[dict]: ...
    def finish_batch(self, batch_id: str, announcement_id: str, n: int, s: Any) -> bool: ...
    def read_count(self, announcement_id: str) -> int: ...
    def unread_people(self, announcement_id: str, limit: int, skip: int) -> list[dict]: ...


class MongoNotifyStore(PingStore):
    def __init__(self, client: MongoClient, db: Database):
        super().__init__(client, db)
        self.commands = Commands(client, db)
        self.receipts = db["receipts"]
        self.messages = db["messages"]
        self.mailboxes = db["mailboxes"]
        self.deliveries = db["deliveries"]
        self.digests = db["digests"]
        self.template_docs = db["templates"]
        self.announcements = db["announcements"]
        self.batches = db["announcement_batches"]

    def prepare(self) -> None:
        self.messages.create_index([("user_id", ASCENDING), ("seq", DESCENDING)], unique=True)
        self.messages.create_index([("user_id", ASCENDING), ("read_at", ASCENDING)])
        self.messages.create_index(
            [("announcement_id", ASCENDING), ("read_at", ASCENDING)], sparse=True
        )
        self.deliveries.create_index([("state", ASCENDING), ("next_try_at", ASCENDING)])
        self.deliveries.create_index([("message_id", ASCENDING)])
        self.digests.create_index([("held", ASCENDING), ("until", ASCENDING)])
        self.mailboxes.create_index([("push.endpoint", ASCENDING)], sparse=True)
        self.announcements.create_index([("code", ASCENDING), ("created_at", DESCENDING)])
        self.announcements.create_index([("state", ASCENDING), ("lease_until", ASCENDING)])
        self.batches.create_index(
            [("announcement_id", ASCENDING), ("state", ASCENDING), ("n", ASCENDING)]
        )

    def transaction(self, work: Callable[[ClientSession], T]) -> T:
        return in_transaction(self.client, work)

    def run_command(self, kind: str, client_id: str, body: Any, execute: Callable) -> Any:
        return self.commands.run(kind, client_id, body, execute)

    def insert_receipt(self, doc: dict, session: ClientSession) -> None:
        self.receipts.insert_one(doc, session=session)

    # --- messages -----------------------------------------------------------------------
    def reserve_numbers(self, counts: dict[str, int], session: ClientSession) -> dict:
        """Raise each user's counter and unread count by `counts[user]` new messages; the
        mailboxes after it ({seq: the last number now taken, prefs, push}). Two round trips
        whatever the size: one dispatch and a batch of 500 cost the same requests."""
        if not counts:
            return {}
        self.mailboxes.bulk_write(
            [
                UpdateOne({"_id": u}, {"$inc": {"seq": n, "unread": n}}, upsert=True)
                for u, n in counts.items()
            ],
            ordered=False,
            session=session,
        )
        found = self.mailboxes.find({"_id": {"$in": list(counts)}}, session=session)
        return {m["_id"]: m for m in found}

    def insert_messages(self, docs: list[dict], session: ClientSession) -> None:
        if docs:
            self.messages.insert_many(docs, ordered=False, session=session)

    def inbox(
        self, user: str, before: int | None, limit: int, unread: bool, kind: str | None = None
    ) -> list[dict]:
        query: dict[str, Any] = {"user_id": user}
        if kind:
            query["kind"] = kind
        if before:
            query["seq"] = {"$lt": before}
        if unread:
            query["read_at"] = None
        return list(self.messages.find(query).sort("seq", DESCENDING).limit(limit))

    def mailbox(self, user: str) -> dict:
        return self.mailboxes.find_one({"_id": user}) or {"_id": user, "seq": 0, "unread": 0}

    def messages_since(self, user: str, seq: int, limit: int) -> list[dict]:
        found = self.messages.find({"user_id": user, "seq": {"$gt": seq}})
        return list(found.sort("seq", ASCENDING).limit(limit))

    def message(self, message_id: str) -> dict | None:
        return self.messages.find_one({"_id": message_id})

    def mark_read(
        self, user: str, ids: list[str] | None, at: datetime, session: ClientSession
    ) -> tuple[list[str], int]:
        query: dict[str, Any] = {"user_id": user, "read_at": None}
        if ids is not None:
            query["_id"] = {"$in": ids}
        docs = list(self.messages.find(query, {"_id": 1, "announcement_id": 1}, session=session))
        found = [d["_id"] for d in docs]
        if found:
            self.messages.update_many(
                {"_id": {"$in": found}, "read_at": None}, {"$set": {"read_at": at}}, session=session
            )
        # a notice's read count moves with its messages (the sender polls it while it sends)
        notices: dict[str, int] = {}
        for d in docs:
            if d.get("announcement_id"):
                notices[d["announcement_id"]] = notices.get(d["announcement_id"], 0) + 1
        for notice, n in notices.items():
            self.announcements.update_one({"_id": notice}, {"$inc": {"read": n}}, session=session)
        box = self.mailboxes.find_one_and_update(
            {"_id": user},
            {"$inc": {"unread": -len(found)}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return found, max(0, (box or {}).get("unread", 0))

    # --- deliveries -----------------------------------------------------------------------
    def put_deliveries(self, docs: list[dict], session: ClientSession) -> None:
        if docs:
            self.deliveries.insert_many(docs, ordered=False, session=session)

    def claim_due_delivery(self, now: datetime, lease_until: datetime) -> dict | None:
        """Take one due delivery for sending (another instance skips it until the lease)."""
        return self.deliveries.find_one_and_update(
            {"state": {"$in": ["queued", "waiting", "sending"]}, "next_try_at": {"$lte": now}},
            {"$set": {"next_try_at": lease_until}},
            sort=[("next_try_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    def update_delivery(self, delivery_id: str, changes: dict, entry: dict) -> None:
        self.deliveries.update_one(
            {"_id": delivery_id},
            {"$set": changes, "$push": {"history": {"$each": [entry], "$slice": -20}}},
        )

    def record_receipts(self, receipts: list[dict], session: ClientSession) -> int:
        """The open app's deliveries: one `live` delivery per message, first receipt wins."""
        done = 0
        for r in receipts:
            try:
                self.deliveries.insert_one(
                    {
                        "_id": f"{r['message_id']}:live",
                        "message_id": r["message_id"],
                        "user_id": r["user_id"],
                        "channel": "live",
                        "state": "delivered",
                        "attempts": 1,
                        "next_try_at": None,
                        "history": [{"state": "delivered", "at": r["at"], "detail": r.get("by")}],
                    },
                    session=session,
                )
                done += 1
            except DuplicateKeyError:
                pass
        return done

    def deliveries_of(self, message_id: str) -> list[dict]:
        return list(self.deliveries.find({"message_id": message_id}))

    def deliveries_in(self, state: str, limit: int) -> list[dict]:
        found = self.deliveries.find({"state": state}).sort("next_try_at", DESCENDING)
        return list(found.limit(limit))

    def delivery(self, delivery_id: str) -> dict | None:
        return self.deliveries.find_one({"_id": delivery_id})

    # --- digests ----------------------------------------------------------------------------
    def digest_window(
        self, user: str, kind: str, now: datetime, until: datetime, place: str | None, s: Any
    ) -> bool:
        """True when a burst window of this kind is open for the user (the message is held
        and counted); else opens one ending `until` and answers False (tell at once)."""
        key = f"{user}:{kind}"
        held = self.digests.find_one_and_update(
            {"_id": key, "until": {"$gt": now}},
            {"$inc": {"held": 1}, "$set": {"place": place}},
            session=s,
        )
        if held is not None:
            return True
        self.digests.update_one(
            {"_id": key},
            {"$set": {"user_id": user, "kind": kind, "until": until, "held": 0, "place": place}},
            upsert=True,
            session=s,
        )
        return False

    def due_digests(self, now: datetime, limit: int = 200) -> list[dict]:
        found = self.digests.find({"held": {"$gt": 0}, "until": {"$lte": now}})
        return list(found.limit(limit))

    def take_digest(self, digest_id: str, now: datetime, until: datetime) -> dict | None:
        """Claim a due digest (once across instances); a new window starts, so a burst that
        goes on is told again as one line when it ends."""
        return self.digests.find_one_and_update(
            {"_id": digest_id, "held": {"$gt": 0}, "until": {"$lte": now}},
            {"$set": {"held": 0, "until": until}},
        )

    # --- preferences, templates, subscriptions -------------------------------------------
    def preferences(self, user: str) -> dict | None:
        return (self.mailboxes.find_one({"_id": user}, {"prefs": 1}) or {}).get("prefs")

    def put_preferences(self, user: str, doc: dict) -> None:
        self.mailboxes.update_one({"_id": user}, {"$set": {"prefs": doc}}, upsert=True)

    def templates(self) -> dict[str, dict]:
        return {d["_id"]: d for d in self.template_docs.find({})}

    def put_template(self, kind: str, doc: dict) -> None:
        self.template_docs.replace_one({"_id": kind}, {**doc, "_id": kind}, upsert=True)

    def subscriptions_of(self, users: Iterable[str], session: Session = None) -> dict:
        found = self.mailboxes.find(
            {"_id": {"$in": list(users)}, "push.0": {"$exists": True}}, {"push": 1}, session=session
        )
        return {m["_id"]: m["push"] for m in found}

    def put_subscription(self, doc: dict) -> None:
        """Keep a phone's subscription on its user's mailbox; a phone that changed hands
        (a shared phone, a new login) leaves the previous user's."""
        endpoint = doc["endpoint"]
        self.remove_subscription(endpoint)
        self.mailboxes.update_one({"_id": doc["user_id"]}, {"$push": {"push": doc}}, upsert=True)

    def remove_subscription(self, endpoint: str, user: str | None = None) -> int:
        query: dict[str, Any] = {"push.endpoint": endpoint}
        if user is not None:
            query["_id"] = user
        gone = self.mailboxes.update_many(query, {"$pull": {"push": {"endpoint": endpoint}}})
        return gone.modified_count

    # --- announcements --------------------------------------------------------------------
    def insert_announcement(self, doc: dict, session: ClientSession) -> None:
        self.announcements.insert_one(doc, session=session)

    def announcement(self, announcement_id: str) -> dict | None:
        return self.announcements.find_one({"_id": announcement_id})

    def announcements_under(self, prefixes: list[str], limit: int) -> list[dict]:
        found: list[dict] = []
        for prefix in prefixes:  # one flat indexed query per scope (STACK-NOTES)
            query = {"code": prefix_range(prefix)} if prefix else {}
            found += self.announcements.find(query).sort("created_at", DESCENDING).limit(limit)
        found.sort(key=lambda d: d["created_at"], reverse=True)
        return found[:limit]

    def claim_job(self, now: datetime, owner: str, lease_until: datetime) -> dict | None:
        return self.announcements.find_one_and_update(
            {"state": {"$in": ["resolving", "sending"]}, "lease_until": {"$lte": now}},
            {"$set": {"owner": owner, "lease_until": lease_until}},
            sort=[("lease_until", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    def renew_job(self, announcement_id: str, owner: str, lease_until: datetime) -> bool:
        done = self.announcements.update_one(
            {"_id": announcement_id, "owner": owner}, {"$set": {"lease_until": lease_until}}
        )
        return done.matched_count == 1

    def set_announcement(self, announcement_id: str, changes: dict, s: Session = None) -> None:
        self.announcements.update_one({"_id": announcement_id}, {"$set": changes}, session=s)

    def put_batches(self, announcement_id: str, batches: list[list[dict]]) -> None:
        """The recipients, fixed before anything is sent (a resumed job sends to the same
        people); written afresh if an earlier resolution was cut off."""
        self.batches.delete_many({"announcement_id": announcement_id})
        docs = [
            {
                "_id": f"{announcement_id}:{n}",
                "announcement_id": announcement_id,
                "n": n,
                "users": users,
                "state": "pending",
            }
            for n, users in enumerate(batches)
        ]
        for i in range(0, len(docs), 20):
            self.batches.insert_many(docs[i : i + 20], ordered=True)

    def pending_batches(self, announcement_id: str) -> list[dict]:
        found = self.batches.find({"announcement_id": announcement_id, "state": "pending"})
        return list(found.sort("n", ASCENDING))

    def finish_batch(self, batch_id: str, announcement_id: str, n: int, s: Any) -> bool:
        done = self.batches.update_one(
            {"_id": batch_id, "state": "pending"}, {"$set": {"state": "done"}}, session=s
        )
        if done.modified_count != 1:
            return False
        self.announcements.update_one({"_id": announcement_id}, {"$inc": {"done": n}}, session=s)
        return True

    def read_count(self, announcement_id: str) -> int:
        found = self.announcements.find_one({"_id": announcement_id}, {"read": 1})
        return (found or {}).get("read", 0)

    def unread_people(self, announcement_id: str, limit: int, skip: int) -> list[dict]:
        query = {"announcement_id": announcement_id, "read_at": None}
        found = self.messages.find(query, {"user_id": 1, "to_name": 1}).sort("user_id", 1)
        return list(found.skip(skip).limit(limit))


class NotifyStorage(MongoProvider):
    def __init__(self, **kwargs):
        super().__init__("notify", **kwargs)

    def wrap(self, client, db):
        return MongoNotifyStore(client, db)
