"""Identity storage: users, refresh-token families, API keys and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

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
        self.throttle = db["login_throttle"]

    def prepare(self) -> None:
        self.users.create_index("username", unique=True)
        self.families.create_index("user_id")
        self.families.create_index("revoked_at")
        # names nobody signs in with any more are forgotten (where the server has TTL indexes)
        self.throttle.create_index("expires_at", expireAfterSeconds=0)
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

    # sign-in failures, per name typed (an account's or not: see domain.FREE_FAILURES)
    def login_throttle(self, name: str) -> dict:
        """{failures, locked_until} of a name ({} when it has no recent failures)."""
        return self.throttle.find_one({"_id": name}) or {}

    def count_failure(self, name: str, now: datetime, forget_at: datetime) -> int:
        """One more failure for `name`; the new count (atomic, so two at once count two)."""
        doc = self.throttle.find_one_and_update(
            {"_id": name},
            {"$inc": {"failures": 1}, "$set": {"last_failure_at": now, "expires_at": forget_at}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(doc["failures"])

    def lock_name(self, name: str, until: datetime) -> None:
        self.throttle.update_one({"_id": name}, {"$set": {"locked_until": until}})

    def clear_failures(self, name: str) -> None:
        self.throttle.delete_one({"_id": name})

    def record_login(self, user_id: str, now: datetime) -> None:
        self.users.update_one({"_id": user_id}, {"$set": {"last_login_at": now}})

    def list_users(self, query: dict, limit: int, skip: int = 0) -> list[dict]:
        return list(self.users.find(query).sort("username", ASCENDING).skip(skip).limit(limit))

    def users_in(self, prefix: str, roles: list[str]) -> list[dict]:
        query = {
            "scopes": {"$regex": "^" + prefix},
            "roles": {"$in": roles},
            "disabled": {"$ne": True},
        }
        found = self.users.find(query, {"display_name": 1, "username": 1})
        return [
            {"id": u["_id"], "display_name": u.get("display_name") or u["username"]} for u in found
        ]

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
        """Swap the current token atomically; None when `jti` was not current any more.

        The same write keeps the token spent, its successor and when (`previous`), so a
        retry of a refresh whose answer was lost can be told apart from reuse
        (`domain.judge_refresh`)."""
        return self.families.find_one_and_update(
            {"_id": family, "current_jti": jti, "revoked_at": None},
            {
                "$set": {
                    "current_jti": new_jti,
                    "rotated_at": now,
                    "previous": {"jti": jti, "successor": new_jti, "at": now},
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    def revoke_family(self, family: str, now: datetime, reason: str, session=None) -> bool:
        """True when this call ended the family (False: unknown, or ended already)."""
        result = self.families.update_one(
            {"_id": family, "revoked_at": None},
            {"$set": {"revoked_at": now, "revoked_for": reason}},
            session=session,
        )
        return result.modified_count == 1

    def revoke_user_families(
        self, user_id: str, now: datetime, reason: str, live_since: datetime, session=None
    ) -> list[str]:
        """End every family of the user still usable (rotated since `live_since`); their ids."""
        query = {"user_id": user_id, "revoked_at": None, "rotated_at": {"$gte": live_since}}
        ids = [f["_id"] for f in self.families.find(query, {"_id": 1}, session=session)]
        if ids:
            self.families.update_many(
                {"_id": {"$in": ids}, "revoked_at": None},
                {"$set": {"revoked_at": now, "revoked_for": reason}},
                session=session,
            )
        return ids

    def revoked_since(self, since: datetime) -> list[dict]:
        """Families ended at or after `since`: {_id, revoked_at}."""
        found = self.families.find({"revoked_at": {"$gte": since}}, {"revoked_at": 1})
        return list(found)

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
