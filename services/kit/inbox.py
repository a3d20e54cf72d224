"""Idempotent consumers: an event id is applied once, however often it is delivered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.kit.mongo import in_transaction

COLLECTION = "processed_events"


class Inbox:
    def __init__(self, client: MongoClient, db: Database, consumer: str):
        self.client = client
        self.collection = db[COLLECTION]
        self.consumer = consumer

    def once(
        self, event: dict, apply: Callable[[ClientSession], Any], key: str | None = None
    ) -> bool:
        """Apply `apply(session)` with the event's mark in one transaction; False on a repeat.

        `key` names the mark (default: this consumer and the event id); a service with
        several handlers for one event gives each its own key.
        """
        key = key or f"{self.consumer}:{event['id']}"

        def work(session: ClientSession) -> bool:
            self.collection.insert_one(
                {"_id": key, "type": event.get("type"), "at": datetime.now(timezone.utc)},
                session=session,
            )
            apply(session)
            return True

        try:
            return in_transaction(self.client, work)
        except DuplicateKeyError:
            return False
