"""The identity service: users, roles, scopes, sign-in sessions, API keys, audit."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

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
from contracts.identity import SESSION_REVOKED, RevokedSession, SessionRevoked, ends_sessions
from services.identity import domain
from services.identity.passwords import hash_password, needs_rehash, verify_password
from services.identity.storage import IdentityStorage, IdentityStore
from services.kit.clock import Clock, ClockProvider
from services.kit.health import HealthMixin
from services.kit.outbox import Outbox, OutboxWriter

API_KEY_PREFIX = "lxk_"


def _refresh_grace() -> timedelta:
    return timedelta(seconds=float(os.environ.get("REFRESH_GRACE_SECONDS", "30")))


def _digest(key: str) -> str:
    # API keys are 256 random bits: a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode()).hexdigest()


class IdentityService(HealthMixin):
    name = "identity"

    store: IdentityStore = IdentityStorage()
    outbox: OutboxWriter = Outbox("identity")
    clock: Clock = ClockProvider()

    # --- sign-in -----------------------------------------------------------------------
    @rpc(expected_exceptions=(InvalidCredentials, AccountLocked))
    def login(self, username: str, password: str, meta: dict | None = None) -> dict:
        """Check a password and open a refresh-token family: {user, family, jti}.

        Answers the same for unknown, disabled and locked accounts (domain.FREE_FAILURES).
        """
        meta = meta or {}
        now = self.clock.now()
        name = username or ""
        user = self.store.user_by_name(name)
        who = {} if user else {"username": name}
        locked_for = domain.retry_after(self.store.login_throttle(name).get("locked_until"), now)
        if locked_for:
            self._audit("login_locked", user, meta, **who)
            raise AccountLocked(details={"retry_after": locked_for})
        password_ok = verify_password(user.get("password_hash") if user else None, password or "")
        if not domain.signs_in(user, password_ok):
            failures = self.store.count_failure(name, now, now + domain.LONGEST_LOCK * 4)
            kind = "login_disabled" if password_ok else "login_failed"
            self._audit(kind, user, meta, failures=failures, **who)
            lock = domain.lock_duration(failures)
            if lock:
                self.store.lock_name(name, now + lock)
                seconds = int(lock.total_seconds())
                self._audit("lockout", user, meta, seconds=seconds, **who)
                raise AccountLocked(details={"retry_after": seconds})
            raise InvalidCredentials()
        assert user is not None  # signs_in said so
        self.store.clear_failures(name)
        self.store.record_login(user["_id"], now)
        if needs_rehash(user["password_hash"]):
            self.store.update_user(user["_id"], {"password_hash": hash_password(password)})
        jti = uuid.uuid4().hex
        family = self.store.open_family(user["_id"], jti, now)
        self._audit("login", user, meta, family=family)
        return {"user": domain.public_user(user), "family": family, "jti": jti}

    @rpc(expected_exceptions=(RefreshReused, TokenRevoked, AccountDisabled))
    def refresh(self, family: str, jti: str, meta: dict | None = None) -> dict:
        """Rotate a refresh token; a spent one revokes its whole family, except the token
        just spent presented again within the grace (a retry whose answer was lost), which
        gets the same successor (`domain.judge_refresh`)."""
        now = self.clock.now()
        new_jti = uuid.uuid4().hex
        rotated = self.store.rotate(family, jti, new_jti, now)
        kind = "refresh"
        if rotated is None:
            owner = self.store.family(family)
            verdict = domain.judge_refresh(owner, jti, now, _refresh_grace())
            if verdict.outcome == "reused":
                owner = owner or {}
                self._end_family(family, owner.get("user_id"), now, "refresh_reused")
                self._audit("refresh_reuse", self.store.user_by_id(owner.get("user_id")), meta)
                raise RefreshReused()
            if verdict.outcome != "replay" or owner is None or verdict.successor is None:
                raise TokenRevoked()
            rotated, new_jti, kind = owner, verdict.successor, "refresh_replay"
        user = self.store.user_by_id(rotated["user_id"])
        if user is None or user.get("disabled"):
            self._end_family(family, rotated["user_id"], now, "disabled")
            raise AccountDisabled()
        self._audit(kind, user, meta, family=family)
        return {"user": domain.public_user(user), "family": family, "jti": new_jti}

    @rpc
    def logout(self, family: str, meta: dict | None = None) -> bool:
        """End a session; True when this call ended it (it was live until now)."""
        fam = self.store.family(family)
        if fam is None:
            return False
        ended = self._end_family(family, fam["user_id"], self.clock.now(), "logout")
        self._audit("logout", self.store.user_by_id(fam["user_id"]), meta or {})
        return ended

    @rpc
    def session_active(self, family: str) -> bool:
        fam = self.store.family(family)
        return bool(fam) and fam.get("revoked_at") is None

    @rpc
    def revoked_sessions(self, since: str) -> list:
        """Families ended since `since` (ISO 8601): what a starting gateway must refuse."""
        try:
            start = datetime.fromisoformat(since)
        except (TypeError, ValueError) as exc:
            raise ValidationFailed(details={"since": "an ISO 8601 time"}) from exc
        if start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        return [
            RevokedSession().dump({"family": f["_id"], "revoked_at": _iso(f["revoked_at"])})
            for f in self.store.revoked_since(start)
        ]

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
            if ends_sessions(changes):
                ended = self.store.revoke_user_families(
                    user_id, now, "user_changed", now - domain.SESSION_LIFETIME, session=session
                )
                # announced even when none was live: the gateway waits for this word
                self._announce_ended(session, ended, user_id, "user_changed", now, always=True)
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

    @rpc
    def users_in(self, scope: str, roles: list) -> list:
        """Every enabled user holding one of `roles` whose scope lies inside `scope`, as
        [{id, display_name}], in one read: the audience of a notice (notify) may be 10,000
        residents, and paging with `skip` re-reads the users collection for every page."""
        prefix = "".join(c for c in scope if c.isalnum() or c == "-")
        if not prefix:
            return []
        return self.store.users_in(prefix, [str(r) for r in roles])

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
    def _end_family(self, family: str, user_id: str | None, now: datetime, reason: str) -> bool:
        """Revoke one family and announce it, in one transaction (gateways refuse it at once).
        False when it had ended already (nothing announced)."""

        def work(session) -> bool:
            ended = self.store.revoke_family(family, now, reason, session=session)
            if ended:
                self._announce_ended(session, [family], user_id, reason, now)
            return ended

        ended = self.store.transaction(work)
        self.outbox.wake()
        return ended

    def _announce_ended(
        self,
        session,
        families: list[str],
        user_id: str | None,
        reason: str,
        now: datetime,
        always: bool = False,
    ) -> None:
        if families or always:
            payload = {
                "families": families,
                "user_id": user_id,
                "reason": reason,
                "revoked_at": _iso(now),
            }
            self.outbox.record(session, SESSION_REVOKED, SessionRevoked().dump(payload))

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
