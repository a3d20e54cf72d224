"""The identity service's rules with a fake store (a subclass of the real one, in memory)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import AccountLocked, InvalidCredentials, RefreshReused
from contracts.identity import SESSION_REVOKED
from services.identity.passwords import hash_password
from services.identity.service import IdentityService
from services.identity.storage import IdentityStore
from services.kit.clock import SettableClock


class MemoryIdentityStore(IdentityStore):
    def __init__(self):  # no database: every verb below works on dicts
        self.users_by_id: dict[str, dict] = {}
        self.fams: dict[str, dict] = {}
        self.audit_log: list[dict] = []
        self.throttles: dict[str, dict] = {}

    def transaction(self, work):
        return work(None)

    def user_by_name(self, username):
        return next((u for u in self.users_by_id.values() if u["username"] == username), None)

    def user_by_id(self, user_id):
        return self.users_by_id.get(user_id)

    def update_user(self, user_id, changes, session=None):
        self.users_by_id[user_id].update(changes)
        return self.users_by_id[user_id]

    def login_throttle(self, name):
        return self.throttles.get(name, {})

    def count_failure(self, name, now, forget_at):
        entry = self.throttles.setdefault(name, {"failures": 0})
        entry["failures"] += 1
        return entry["failures"]

    def lock_name(self, name, until):
        self.throttles[name]["locked_until"] = until

    def clear_failures(self, name):
        self.throttles.pop(name, None)

    def record_login(self, user_id, now):
        self.users_by_id[user_id]["last_login_at"] = now

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
            fam["previous"] = {"jti": jti, "successor": new_jti, "at": now}
            return fam
        return None

    def revoke_family(self, family, now, reason, session=None):
        fam = self.fams.get(family)
        if fam is None or fam["revoked_at"] is not None:
            return False
        fam["revoked_at"] = now
        return True

    def revoke_user_families(self, user_id, now, reason, live_since, session=None):
        ended = [f["_id"] for f in self.fams.values() if f["user_id"] == user_id]
        ended = [f for f in ended if self.revoke_family(f, now, reason)]
        return ended

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
    assert "li" not in service.store.throttles  # the failures are forgotten


def test_unknown_user_is_the_same_error_as_a_wrong_password(service):
    with pytest.raises(InvalidCredentials):
        service.login("nobody", "x", {})


def test_spent_refresh_token_revokes_family(service):
    first = service.login("li", "correct horse", {})
    service.refresh(first["family"], first["jti"], {})
    service.clock.advance(timedelta(seconds=31))  # past the grace of a lost answer
    with pytest.raises(RefreshReused):
        service.refresh(first["family"], first["jti"], {})
    assert service.store.fams[first["family"]]["revoked_at"] is not None


def test_a_refresh_retried_after_a_lost_answer_gets_the_same_successor(service):
    first = service.login("li", "correct horse", {})
    second = service.refresh(first["family"], first["jti"], {})
    service.clock.advance(timedelta(seconds=20))
    again = service.refresh(first["family"], first["jti"], {})  # the answer was lost
    assert again["jti"] == second["jti"] and again["family"] == first["family"]
    assert service.store.fams[first["family"]]["revoked_at"] is None
    assert service.store.audit_log[-1]["kind"] == "refresh_replay"
    third = service.refresh(first["family"], again["jti"], {})  # the next rotation works
    assert third["jti"] not in (first["jti"], second["jti"])
    with pytest.raises(RefreshReused):  # two rotations back: reuse, even within the grace
        service.refresh(first["family"], first["jti"], {})
    assert service.store.fams[first["family"]]["revoked_at"] is not None


def test_disabled_user_cannot_log_in(service):
    # Issue 7 §6: a disabled account answers as a wrong password does (it used to say
    # AccountDisabled when the password was right, which told that the account exists).
    service.store.users_by_id["u1"]["disabled"] = True
    with pytest.raises(InvalidCredentials):
        service.login("li", "correct horse", {})
    assert service.store.audit_log[-1]["kind"] == "login_disabled"


def outcomes(service, name: str, password: str, tries: int) -> list:
    seen = []
    for _ in range(tries):
        try:
            service.login(name, password, {})
            seen.append("ok")
        except (InvalidCredentials, AccountLocked) as exc:
            seen.append((exc.code, (exc.details or {}).get("retry_after")))
    return seen


def test_unknown_disabled_and_real_names_answer_alike(service):
    """No enumeration: the same answers, try by try, whatever stands behind the name."""
    service.store.users_by_id["u2"] = {
        **service.store.users_by_id["u1"],
        "_id": "u2",
        "username": "zhao",
        "disabled": True,
    }
    wrong = outcomes(service, "li", "wrong", 6)
    assert outcomes(service, "nobody", "wrong", 6) == wrong
    assert outcomes(service, "zhao", "correct horse", 6) == wrong  # disabled, right password
    assert wrong == [("invalid_credentials", None)] * 4 + [("account_locked", 30)] * 2
    unknown = [a for a in service.store.audit_log if a["username"] == "nobody"]
    assert {"login_failed", "lockout", "login_locked"} <= {a["kind"] for a in unknown}


def test_changing_scopes_ends_the_users_sessions_and_says_so(service):
    first = service.login("li", "correct horse", {})
    second = service.login("li", "correct horse", {})
    service.update_user("u1", {"scopes": ["330424002"]}, actor="admin")
    assert all(service.store.fams[s["family"]]["revoked_at"] for s in (first, second))
    announced = [
        c.args[2] for c in service.outbox.record.call_args_list if c.args[1] == SESSION_REVOKED
    ]
    assert len(announced) == 1
    assert sorted(announced[0]["families"]) == sorted([first["family"], second["family"]])
    assert announced[0]["reason"] == "user_changed" and announced[0]["user_id"] == "u1"


def test_a_display_name_change_keeps_the_sessions(service):
    session = service.login("li", "correct horse", {})
    service.update_user("u1", {"display_name": "李明"}, actor="admin")
    assert service.store.fams[session["family"]]["revoked_at"] is None


def test_logout_is_announced_once(service):
    session = service.login("li", "correct horse", {})
    service.logout(session["family"], {})
    service.logout(session["family"], {})
    announced = [
        c.args[2] for c in service.outbox.record.call_args_list if c.args[1] == SESSION_REVOKED
    ]
    assert [a["families"] for a in announced] == [[session["family"]]]
    assert announced[0]["reason"] == "logout"
