"""Identity in a real container, against the real broker and database."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from nameko.events import event_handler
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.errors import AccountLocked, InvalidCredentials, RefreshReused, TokenRevoked
from contracts.events import USER_CREATED
from contracts.identity import SESSION_REVOKED
from services.identity.service import IdentityService
from services.kit.clock import ClockProvider, SettableClock

pytestmark = pytest.mark.interface


@pytest.fixture
def identity_container(container_factory, service_config):
    container = container_factory(IdentityService, service_config)
    container.start()
    return container


@pytest.fixture
def identity(identity_container, service_config):
    with ClusterRpcProxy(service_config, timeout=20) as proxy:
        yield proxy.identity


def _clock(container) -> SettableClock:
    (provider,) = [d for d in container.extensions if isinstance(d, ClockProvider)]
    return provider.clock


def _user(identity, username: str) -> None:
    identity.create_user(
        {
            "username": username,
            "password": "s3cret-pass",
            "roles": ["grid_worker"],
            "scopes": ["330424001001"],
        }
    )


def test_login_refresh_rotation_and_reuse_revokes_family(identity, identity_container):
    _user(identity, "li.ming")
    first = identity.login("li.ming", "s3cret-pass", {"ip": "127.0.0.1"})
    assert first["user"]["roles"] == ["grid_worker"]
    second = identity.refresh(first["family"], first["jti"], {})
    assert second["jti"] != first["jti"]
    _clock(identity_container).advance(timedelta(seconds=31))  # past a lost answer's grace
    with pytest.raises(RefreshReused):
        identity.refresh(first["family"], first["jti"], {})
    # the whole family is gone, the token that was current too
    with pytest.raises(TokenRevoked):
        identity.refresh(second["family"], second["jti"], {})
    assert identity.session_active(first["family"]) is False
    kinds = [a["kind"] for a in identity.list_audit(username="li.ming")]
    assert "refresh_reuse" in kinds and "login" in kinds


def test_wrong_password_then_growing_lockout(identity):
    identity.create_user(
        {"username": "zhang.wei", "password": "right-password", "roles": ["resident"]}
    )
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            identity.login("zhang.wei", "wrong", {})
    with pytest.raises(AccountLocked) as locked:
        identity.login("zhang.wei", "wrong", {})
    assert locked.value.details["retry_after"] == 30
    # even the right password waits for the lock to end
    with pytest.raises(AccountLocked):
        identity.login("zhang.wei", "right-password", {})
    assert "lockout" in [a["kind"] for a in identity.list_audit(username="zhang.wei")]


class UserCreatedListener:
    name = "listener"
    seen: list = []

    @event_handler("identity", USER_CREATED)
    def on_created(self, event):
        UserCreatedListener.seen.append(event)


def test_created_user_is_announced_through_the_outbox(container_factory, service_config):
    listener = container_factory(UserCreatedListener, service_config)
    listener.start()
    identity = container_factory(IdentityService, service_config)
    identity.start()
    with ClusterRpcProxy(service_config, timeout=20) as proxy:
        user = proxy.identity.create_user(
            {"username": "wang.fang", "password": "long-enough", "roles": ["resident"]}
        )
    deadline = time.monotonic() + 10
    while not any(e["payload"]["id"] == user["id"] for e in UserCreatedListener.seen):
        assert time.monotonic() < deadline, "user_created never arrived"
        time.sleep(0.05)
    event = next(e for e in UserCreatedListener.seen if e["payload"]["id"] == user["id"])
    assert event["type"] == USER_CREATED and event["producer"] == "identity"
    assert "password_hash" not in event["payload"]


class RevocationListener:
    name = "revocation_listener"
    seen: list = []

    @event_handler("identity", SESSION_REVOKED)
    def on_revoked(self, event):
        RevocationListener.seen.append(event)


def test_scope_change_ends_sessions_announces_them_and_lists_them(
    container_factory, service_config
):
    listener = container_factory(RevocationListener, service_config)
    listener.start()
    identity = container_factory(IdentityService, service_config)
    identity.start()
    with ClusterRpcProxy(service_config, timeout=20) as proxy:
        user = proxy.identity.create_user(
            {
                "username": "chen.jie",
                "password": "long-enough",
                "roles": ["grid_worker"],
                "scopes": ["330424001001"],
            }
        )
        before = datetime.now(timezone.utc).isoformat()
        session = proxy.identity.login("chen.jie", "long-enough", {})
        proxy.identity.update_user(user["id"], {"scopes": ["330424002001"]})
        assert proxy.identity.session_active(session["family"]) is False
        listed = proxy.identity.revoked_sessions(before)
        assert session["family"] in [r["family"] for r in listed]
    deadline = time.monotonic() + 10
    while not any(session["family"] in e["payload"]["families"] for e in RevocationListener.seen):
        assert time.monotonic() < deadline, "session_revoked never arrived"
        time.sleep(0.05)
    event = next(e for e in RevocationListener.seen if e["payload"]["user_id"] == user["id"])
    assert event["payload"]["reason"] == "user_changed"


def test_users_in_a_scope_by_role_in_one_read(identity):
    for name, roles, scopes in [
        ("res.a", ["resident"], ["330424001001-001-01"]),
        ("res.b", ["resident"], ["330424001001"]),
        ("res.c", ["resident"], ["330424001002"]),
        ("wk.a", ["grid_worker"], ["330424001001-001"]),
    ]:
        identity.create_user(
            {"username": name, "password": "pass-word-1", "roles": roles, "scopes": scopes}
        )
    gone = identity.create_user(
        {
            "username": "res.d",
            "password": "pass-word-1",
            "roles": ["resident"],
            "scopes": ["330424001001-002"],
        }
    )
    identity.update_user(gone["id"], {"disabled": True})
    found = identity.users_in("330424001001", ["resident"])
    assert sorted(u["display_name"] for u in found) == ["res.a", "res.b"]
    both = identity.users_in("330424001001-001", ["resident", "grid_worker"])
    assert sorted(u["display_name"] for u in both) == ["res.a", "wk.a"]
    assert identity.users_in("^.*", ["resident"]) == []  # only a code prefix, never a pattern


def test_a_refresh_retried_after_a_lost_answer_keeps_the_session(identity, identity_container):
    _user(identity, "wang.fang")
    first = identity.login("wang.fang", "s3cret-pass", {})
    second = identity.refresh(first["family"], first["jti"], {})
    # the phone never saw `second` and sends its token again, 20 s later
    _clock(identity_container).advance(timedelta(seconds=20))
    again = identity.refresh(first["family"], first["jti"], {"ip": "10.0.0.7"})
    assert again["jti"] == second["jti"] and again["user"] == second["user"]
    assert identity.session_active(first["family"]) is True
    third = identity.refresh(first["family"], again["jti"], {})  # and the next rotation works
    assert third["jti"] not in (first["jti"], second["jti"])
    kinds = [a["kind"] for a in identity.list_audit(username="wang.fang")]
    assert kinds.count("refresh_replay") == 1 and "refresh_reuse" not in kinds
    # a stolen token from before the previous one is reuse at once, grace or not
    with pytest.raises(RefreshReused):
        identity.refresh(first["family"], first["jti"], {})
    with pytest.raises(TokenRevoked):
        identity.refresh(first["family"], third["jti"], {})
