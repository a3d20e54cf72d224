"""Identity storage: users, refresh-token families, API keys and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from contracts.errors import AlreadyExists
from services.kit.mongo import MongoProvider, in_transaction


class IdentityStore:
    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.users = db["users"]
        self.families = db["refresh_families"]
        self.keys = db["api_keys"]
        self.audit = db["audit"]

    def prepare(self) -> None:
        self.users.create_index("username", unique=True)
        self.families.create_index("user_id")
        self.keys.create_index("digest", unique=True)
        self.audit.create_index([("at", DESCENDING)])

    def ping(self) -> None:
        self.users.database.command("ping")

    def transaction(self, work):
        return in_transaction(self.client, work)

    # users
    def insert_user(self, doc: dict, session: ClientSession | None = None) -> dict:
        doc = {"_id": uuid.uuid4().hex, **doc}
        try:
            self.users.insert_one(doc, session=session)
        except DuplicateKeyError as exc:
            raise AlreadyExists(details={"username": doc["username"]}) from exc
        return doc

    def user_by_name(self, username: str) -> dict | None:
        return self.users.find_one({"username": username})

    def user_by_id(self, user_id: str) -> dict | None:
        return self.users.find_one({"_id": user_id})

    def update_user(self, user_id: str, changes: dict, session=None) -> dict | None:
        return self.users.find_one_and_update(
            {"_id": user_id},
            {"$set": changes},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    def record_failure(self, user_id: str, locked_until: datetime | None) -> None:
        update: dict[str, Any] = {"$inc": {"failed_logins": 1}}
        if locked_until is not None:
            update["$set"] = {"locked_until": locked_until}
        self.users.update_one({"_id": user_id}, update)

    def clear_failures(self, user_id: str, now: datetime) -> None:
        self.users.update_one(
            {"_id": user_id},
            {"$set": {"failed_logins": 0, "locked_until": None, "last_login_at": now}},
        )

    def list_users(self, query: dict, limit: int, skip: int = 0) -> list[dict]:
        return list(self.users.find(query).sort("username", ASCENDING).skip(skip).limit(limit))

    # refresh-token families
    def open_family(self, user_id: str, jti: str, now: datetime) -> str:
        family = uuid.uuid4().hex
        self.families.insert_one(
            {
                "_id": family,
                "user_id": user_id,
                "current_jti": jti,
                "created_at": now,
                "rotated_at": now,
                "revoked_at": None,
            }
        )
        return family

    def family(self, family: str) -> dict | None:
        return self.families.find_one({"_id": family})

    def rotate(self, family: str, jti: str, new_jti: str, now: datetime) -> dict | None:
        """Swap the current token atomically; None when `jti` was not current any more."""
        return self.families.find_one_and_update(
            {"_id": family, "current_jti": jti, "revoked_at": None},
            {"$set": {"current_jti": new_jti, "rotated_at": now}},
            return_document=ReturnDocument.AFTER,
        )

    def revoke_family(self, family: str, now: datetime, reason: str) -> None:
        self.families.update_one(
            {"_id": family, "revoked_at": None},
            {"$set": {"revoked_at": now, "revoked_for": reason}},
        )

    def revoke_user_families(self, user_id: str, now: datetime, reason: str, session=None) -> None:
        self.families.update_many(
            {"user_id": user_id, "revoked_at": None},
            {"$set": {"revoked_at": now, "revoked_for": reason}},
            session=session,
        )

    # API keys
    def insert_key(self, doc: dict) -> dict:
        self.keys.insert_one(doc)
        return doc

    def key_by_digest(self, digest: str) -> dict | None:
        return self.keys.find_one({"digest": digest})

    def list_keys(self) -> list[dict]:
        return list(self.keys.find({}, {"digest": 0}).sort("created_at", DESCENDING))

    def revoke_key(self, key_id: str, now: datetime) -> bool:
        result = self.keys.update_one(
            {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.matched_count == 1

    def touch_key(self, key_id: str, now: datetime) -> None:
        self.keys.update_one({"_id": key_id}, {"$set": {"last_used_at": now}})

    # audit
    def write_audit(self, entry: dict) -> None:
        self.audit.insert_one({"_id": uuid.uuid4().hex, **entry})

    def list_audit(self, query: dict, limit: int) -> list[dict]:
        return list(self.audit.find(query).sort("at", DESCENDING).limit(limit))


class IdentityStorage(MongoProvider):
    def __init__(self, **kwargs):
        super().__init__("identity", **kwargs)

    def wrap(self, client, db):
        return IdentityStore(client, db)
