"""The identity service: users, roles, scopes, sign-in sessions, API keys, audit."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

from nameko.rpc import rpc

from contracts.errors import (
    AccountDisabled,
    AccountLocked,
    ApiKeyInvalid,
    InvalidCredentials,
    NotFound,
    RefreshReused,
    TokenRevoked,
    ValidationFailed,
)
from contracts.events import USER_CHANGED, USER_CREATED
from services.identity import domain
from services.identity.passwords import hash_password, needs_rehash, verify_password
from services.identity.storage import IdentityStorage, IdentityStore
from services.kit.clock import Clock, ClockProvider
from services.kit.health import HealthMixin
from services.kit.outbox import Outbox, OutboxWriter

API_KEY_PREFIX = "lxk_"


def _digest(key: str) -> str:
    # API keys are 256 random bits: a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode()).hexdigest()


class IdentityService(HealthMixin):
    name = "identity"

    store: IdentityStore = IdentityStorage()
    outbox: OutboxWriter = Outbox("identity")
    clock: Clock = ClockProvider()

    # --- sign-in -----------------------------------------------------------------------
    @rpc
    def login(self, username: str, password: str, meta: dict | None = None) -> dict:
        """Check a password and open a refresh-token family: {user, family, jti}."""
        meta = meta or {}
        now = self.clock.now()
        user = self.store.user_by_name(username or "")
        locked_for = domain.retry_after(user.get("locked_until") if user else None, now)
        if user and locked_for:
            self._audit("login_locked", user, meta)
            raise AccountLocked(details={"retry_after": locked_for})
        if not verify_password(user.get("password_hash") if user else None, password or ""):
            if user:
                failures = int(user.get("failed_logins", 0)) + 1
                lock = domain.lock_duration(failures)
                self.store.record_failure(user["_id"], now + lock if lock else None)
                self._audit("login_failed", user, meta, failures=failures)
                if lock:
                    self._audit("lockout", user, meta, seconds=int(lock.total_seconds()))
                    raise AccountLocked(details={"retry_after": int(lock.total_seconds())})
            else:
                self._audit("login_failed", None, meta, username=username)
            raise InvalidCredentials()
        if user.get("disabled"):
            self._audit("login_disabled", user, meta)
            raise AccountDisabled()
        self.store.clear_failures(user["_id"], now)
        if needs_rehash(user["password_hash"]):
            self.store.update_user(user["_id"], {"password_hash": hash_password(password)})
        jti = uuid.uuid4().hex
        family = self.store.open_family(user["_id"], jti, now)
        self._audit("login", user, meta, family=family)
        return {"user": domain.public_user(user), "family": family, "jti": jti}

    @rpc
    def refresh(self, family: str, jti: str, meta: dict | None = None) -> dict:
        """Rotate a refresh token; a spent one revokes its whole family."""
        now = self.clock.now()
        new_jti = uuid.uuid4().hex
        rotated = self.store.rotate(family, jti, new_jti, now)
        if rotated is None:
            verdict = domain.judge_refresh(self.store.family(family), jti)
            if verdict.outcome == "reused":
                self.store.revoke_family(family, now, "refresh_reused")
                owner = self.store.family(family) or {}
                self._audit("refresh_reuse", self.store.user_by_id(owner.get("user_id")), meta)
                raise RefreshReused()
            raise TokenRevoked()
        user = self.store.user_by_id(rotated["user_id"])
        if user is None or user.get("disabled"):
            self.store.revoke_family(family, now, "disabled")
            raise AccountDisabled()
        self._audit("refresh", user, meta, family=family)
        return {"user": domain.public_user(user), "family": family, "jti": new_jti}

    @rpc
    def logout(self, family: str, meta: dict | None = None) -> None:
        fam = self.store.family(family)
        self.store.revoke_family(family, self.clock.now(), "logout")
        if fam:
            self._audit("logout", self.store.user_by_id(fam["user_id"]), meta or {})

    @rpc
    def session_active(self, family: str) -> bool:
        fam = self.store.family(family)
        return bool(fam) and fam.get("revoked_at") is None

    @rpc
    def me(self, user_id: str, family: str | None = None) -> dict:
        user = self.store.user_by_id(user_id)
        if user is None:
            raise NotFound()
        if user.get("disabled"):
            raise AccountDisabled()
        if family is not None and not self.session_active(family):
            raise TokenRevoked()
        return domain.public_user(user)

    # --- users (operators) -------------------------------------------------------------
    @rpc
    def create_user(self, data: dict, actor: str | None = None) -> dict:
        self._check_fields(data)
        doc = self._new_user_doc(data)
        user = self.store.transaction(lambda s: self._insert_with_event(doc, s))
        self.outbox.wake()
        self._audit("user_created", user, {"actor": actor})
        return domain.public_user(user)

    @rpc
    def ensure_user(self, data: dict) -> dict:
        """Create the user unless one with that name exists (demo data loads twice safely)."""
        existing = self.store.user_by_name(data["username"])
        if existing:
            return domain.public_user(existing)
        return self.create_user(data, actor="seed")

    @rpc
    def update_user(self, user_id: str, changes: dict, actor: str | None = None) -> dict:
        self._check_fields(changes)
        updates = {
            k: changes[k] for k in ("display_name", "roles", "scopes", "phone") if k in changes
        }
        if "password" in changes:
            updates["password_hash"] = hash_password(changes["password"])
        if "disabled" in changes:
            updates["disabled"] = bool(changes["disabled"])
        now = self.clock.now()

        def work(session):
            user = self.store.update_user(user_id, updates, session=session)
            if user is None:
                raise NotFound(details={"user_id": user_id})
            self.outbox.record(session, USER_CHANGED, domain.public_user(user))
            if updates.get("disabled") or "password_hash" in updates or "roles" in updates:
                # New rights or a new password: old sessions must sign in again.
                self.store.revoke_user_families(user_id, now, "user_changed", session=session)
            return user

        user = self.store.transaction(work)
        self.outbox.wake()
        self._audit("user_changed", user, {"actor": actor}, fields=sorted(updates))
        return domain.public_user(user)

    @rpc
    def get_user(self, user_id: str) -> dict:
        user = self.store.user_by_id(user_id)
        if user is None:
            raise NotFound(details={"user_id": user_id})
        return domain.public_user(user)

    @rpc
    def list_users(
        self, scope: str | None = None, role: str | None = None, limit: int = 100, skip: int = 0
    ) -> list:
        query: dict = {}
        if scope:
            query["scopes"] = {"$regex": "^" + "".join(c for c in scope if c.isalnum() or c == "-")}
        if role:
            query["roles"] = role
        return [domain.public_user(u) for u in self.store.list_users(query, min(limit, 500), skip)]

    # --- API keys ----------------------------------------------------------------------
    @rpc
    def create_api_key(
        self, name: str, roles: list, scopes: list, actor: str | None = None
    ) -> dict:
        problems = domain.validate_user_fields(None, roles, scopes)
        if problems:
            raise ValidationFailed(details=problems)
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        doc = {
            "_id": uuid.uuid4().hex,
            "name": name,
            "roles": roles,
            "scopes": scopes,
            "digest": _digest(key),
            "prefix": key[:10],
            "created_at": self.clock.now(),
            "created_by": actor,
            "revoked_at": None,
        }
        self.store.insert_key(doc)
        self._audit("api_key_created", None, {"actor": actor}, key_id=doc["_id"], name=name)
        return {"id": doc["_id"], "name": name, "key": key, "prefix": doc["prefix"]}

    @rpc
    def verify_api_key(self, key: str, meta: dict | None = None) -> dict:
        doc = self.store.key_by_digest(_digest(key or ""))
        if doc is None or doc.get("revoked_at") is not None:
            self._audit("api_key_rejected", None, meta or {}, prefix=(key or "")[:10])
            raise ApiKeyInvalid()
        self.store.touch_key(doc["_id"], self.clock.now())
        self._audit("key_use", None, meta or {}, key_id=doc["_id"], name=doc["name"])
        return {
            "id": doc["_id"],
            "name": doc["name"],
            "roles": doc["roles"],
            "scopes": doc["scopes"],
        }

    @rpc
    def list_api_keys(self) -> list:
        return [_key_out(k) for k in self.store.list_keys()]

    @rpc
    def revoke_api_key(self, key_id: str, actor: str | None = None) -> None:
        if not self.store.revoke_key(key_id, self.clock.now()):
            raise NotFound(details={"key_id": key_id})
        self._audit("api_key_revoked", None, {"actor": actor}, key_id=key_id)

    # --- audit -------------------------------------------------------------------------
    @rpc
    def list_audit(
        self, kind: str | None = None, username: str | None = None, limit: int = 100
    ) -> list:
        query: dict = {}
        if kind:
            query["kind"] = kind
        if username:
            query["username"] = username
        return [_audit_out(a) for a in self.store.list_audit(query, min(limit, 1000))]

    # --- internals ---------------------------------------------------------------------
    def _check_fields(self, data: dict) -> None:
        problems = domain.validate_user_fields(
            data.get("username"), data.get("roles"), data.get("scopes")
        )
        if "password" in data and len(data["password"] or "") < 8:
            problems["password"] = "at least 8 characters"
        if problems:
            raise ValidationFailed(details=problems)

    def _new_user_doc(self, data: dict) -> dict:
        if "password" not in data:
            raise ValidationFailed(details={"password": "required"})
        return {
            "username": data["username"],
            "display_name": data.get("display_name") or data["username"],
            "roles": list(data["roles"]),
            "scopes": list(data.get("scopes", [])),
            "phone": data.get("phone"),
            "password_hash": hash_password(data["password"]),
            "disabled": bool(data.get("disabled", False)),
            "failed_logins": 0,
            "locked_until": None,
            "created_at": self.clock.now(),
        }

    def _insert_with_event(self, doc: dict, session) -> dict:
        user = self.store.insert_user(doc, session=session)
        self.outbox.record(session, USER_CREATED, domain.public_user(user))
        return user

    def _audit(self, kind: str, user: dict | None, meta: dict, **detail) -> None:
        self.store.write_audit(
            {
                "at": self.clock.now(),
                "kind": kind,
                "user_id": user["_id"] if user else None,
                "username": user["username"] if user else detail.pop("username", None),
                "ip": meta.get("ip"),
                "request_id": meta.get("request_id"),
                "actor": meta.get("actor"),
                "detail": detail,
            }
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _key_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "prefix": doc.get("prefix"),
        "roles": doc["roles"],
        "scopes": doc["scopes"],
        "created_at": _iso(doc.get("created_at")),
        "last_used_at": _iso(doc.get("last_used_at")),
        "revoked_at": _iso(doc.get("revoked_at")),
    }


def _audit_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "at": _iso(doc["at"]),
        "kind": doc["kind"],
        "user_id": doc.get("user_id"),
        "username": doc.get("username"),
        "ip": doc.get("ip"),
        "request_id": doc.get("request_id"),
        "actor": doc.get("actor"),
        "detail": doc.get("detail", {}),
    }
