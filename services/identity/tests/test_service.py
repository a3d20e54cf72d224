"""The identity service's rules with a fake store (a subclass of the real one, in memory)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import AccountDisabled, AccountLocked, InvalidCredentials, RefreshReused
from services.identity.passwords import hash_password
from services.identity.service import IdentityService
from services.identity.storage import IdentityStore
from services.kit.clock import SettableClock


class MemoryIdentityStore(IdentityStore):
    def __init__(self):  # no database: every verb below works on dicts
        self.users_by_id: dict[str, dict] = {}
        self.fams: dict[str, dict] = {}
        self.audit_log: list[dict] = []

    def user_by_name(self, username):
        return next((u for u in self.users_by_id.values() if u["username"] == username), None)

    def user_by_id(self, user_id):
        return self.users_by_id.get(user_id)

    def update_user(self, user_id, changes, session=None):
        self.users_by_id[user_id].update(changes)
        return self.users_by_id[user_id]

    def record_failure(self, user_id, locked_until):
        user = self.users_by_id[user_id]
        user["failed_logins"] = user.get("failed_logins", 0) + 1
        if locked_until:
            user["locked_until"] = locked_until

    def clear_failures(self, user_id, now):
        self.users_by_id[user_id].update(failed_logins=0, locked_until=None)

    def open_family(self, user_id, jti, now):
        family = uuid.uuid4().hex
        self.fams[family] = {
            "_id": family,
            "user_id": user_id,
            "current_jti": jti,
            "revoked_at": None,
        }
        return family

    def family(self, family):
        return self.fams.get(family)

    def rotate(self, family, jti, new_jti, now):
        fam = self.fams.get(family)
        if fam and fam["current_jti"] == jti and fam["revoked_at"] is None:
            fam["current_jti"] = new_jti
            return fam
        return None

    def revoke_family(self, family, now, reason):
        if family in self.fams:
            self.fams[family]["revoked_at"] = now

    def write_audit(self, entry):
        self.audit_log.append(entry)


@pytest.fixture
def service():
    svc = worker_factory(IdentityService, store=MemoryIdentityStore(), clock=SettableClock())
    svc.store.users_by_id["u1"] = {
        "_id": "u1",
        "username": "li",
        "password_hash": hash_password("correct horse"),
        "roles": ["grid_worker"],
        "scopes": ["330424001"],
        "failed_logins": 0,
    }
    return svc


def test_login_opens_a_family_and_audits(service):
    session = service.login("li", "correct horse", {"ip": "10.0.0.1"})
    assert session["user"]["id"] == "u1" and session["family"] in service.store.fams
    assert service.store.audit_log[-1]["kind"] == "login"
    assert service.store.audit_log[-1]["ip"] == "10.0.0.1"


def test_fifth_failure_locks_and_lock_blocks_the_right_password(service):
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            service.login("li", "wrong", {})
    with pytest.raises(AccountLocked):
        service.login("li", "wrong", {})
    with pytest.raises(AccountLocked):
        service.login("li", "correct horse", {})
    service.clock.advance(timedelta(seconds=31))
    assert service.login("li", "correct horse", {})["user"]["username"] == "li"
    assert service.store.users_by_id["u1"]["failed_logins"] == 0


def test_unknown_user_is_the_same_error_as_a_wrong_password(service):
    with pytest.raises(InvalidCredentials):
        service.login("nobody", "x", {})


def test_spent_refresh_token_revokes_family(service):
    first = service.login("li", "correct horse", {})
    service.refresh(first["family"], first["jti"], {})
    with pytest.raises(RefreshReused):
        service.refresh(first["family"], first["jti"], {})
    assert service.store.fams[first["family"]]["revoked_at"] is not None


def test_disabled_user_cannot_log_in(service):
    service.store.users_by_id["u1"]["disabled"] = True
    with pytest.raises(AccountDisabled):
        service.login("li", "correct horse", {})
