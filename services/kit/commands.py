"""Idempotent commands: a client id names one command; a replay gets the first answer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from contracts.errors import IdempotencyConflict, LianxinError
from services.kit.mongo import in_transaction

COLLECTION = "commands"


def body_digest(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Commands:
    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.collection = db[COLLECTION]

    def run(
        self, kind: str, client_id: str, body: Any, execute: Callable[[ClientSession], Any]
    ) -> Any:
        """Run `execute(session)` once per (kind, client_id); same body → same result."""
        key = f"{kind}:{client_id}"
        digest = body_digest(body)

        def work(session: ClientSession) -> Any:
            result = execute(session)
            # The mark goes in last, with the answer: one write instead of a mark and then
            # its answer. A twin that committed first makes this insert, and so the whole
            # command, fail; nothing of this run is kept.
            mark = {"_id": key, "digest": digest, "at": datetime.now(timezone.utc)}
            self.collection.insert_one({**mark, "result": result}, session=session)
            return result

        previous = self.collection.find_one({"_id": key})
        if previous is None:
            try:
                return in_transaction(self.client, work)
            except DuplicateKeyError:  # a concurrent twin committed first
                previous = self.collection.find_one({"_id": key})
            except LianxinError:
                # a twin that committed meanwhile can make this run's rules refuse (a stale
                # version): the twin's answer is the answer
                previous = self.collection.find_one({"_id": key})
                if previous is None:
                    raise
        if previous is None or previous["digest"] != digest:
            raise IdempotencyConflict(details={"client_id": client_id})
        return previous.get("result")
