"""Revocation without a round trip per request (issue 7 §9): each gateway process follows
identity's `session_revoked` announcements on the real broker and answers from what it
holds; while it cannot follow, it asks identity as before."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from contracts.events import USER_CHANGED, envelope
from contracts.identity import SESSION_REVOKED
from gateway.identity_feed import IdentityFeed
from gateway.tests.conftest import RecordingRpc
from services.kit.outbox import amqp_publisher
from tests.realparts import broker_vhost, free_port


class IdentityAnswers(RecordingRpc):
    """identity's session RPCs, `session_active` counted; `old-1` ended before the gateway
    started."""

    def __init__(self):
        super().__init__()
        self.revoked = {"old-1"}
        earlier = (datetime.now(timezone.utc) - timedelta(minutes=3)).isoformat()
        self.answer(
            "identity",
            "revoked_sessions",
            lambda since: [{"family": "old-1", "revoked_at": earlier}],
        )
        self.asked = 0

    def call(self, service, method, *args, **kwargs):
        if (service, method) == ("identity", "session_active"):
            self.asked += 1
        return super().call(service, method, *args, **kwargs)


@pytest.fixture(scope="module")
def amqp_uri():
    with broker_vhost("lianxin-identity-feed") as uri:
        yield uri


def announce(amqp_uri: str, *families: str) -> None:
    payload = {
        "families": list(families),
        "user_id": "u-1",
        "reason": "logout",
        "revoked_at": datetime.now(timezone.utc).isoformat(),
    }
    amqp_publisher(amqp_uri, "identity")(envelope(SESSION_REVOKED, payload, producer="identity"))


def wait_until(check, timeout: float = 1.0) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "not within the time allowed"
        time.sleep(0.01)
    return time.monotonic() - started


def test_announced_ends_are_refused_within_a_second_without_asking(amqp_uri):
    rpc = IdentityAnswers()
    sessions = IdentityFeed(amqp_uri, rpc=lambda: rpc, keep=timedelta(minutes=15))
    try:
        assert sessions.wait_healthy(10)
        assert sessions.revoked("old-1")  # ended before this process started: loaded
        assert not sessions.revoked("live-1")
        announce(amqp_uri, "live-1", "live-2")
        took = wait_until(lambda: sessions.revoked("live-1") and sessions.revoked("live-2"))
        assert took < 1.0
        assert rpc.asked == 0  # every answer came from the process itself
        assert [c.method for c in rpc.calls] == ["revoked_sessions"]
        since = datetime.fromisoformat(rpc.last("identity", "revoked_sessions").args[0])
        assert timedelta(minutes=15) <= datetime.now(timezone.utc) - since < timedelta(minutes=17)
    finally:
        sessions.stop()


def test_ends_older_than_an_access_token_are_forgotten(amqp_uri):
    rpc = IdentityAnswers()
    sessions = IdentityFeed(amqp_uri, rpc=lambda: rpc, keep=timedelta(seconds=0))
    try:
        assert sessions.wait_healthy(10)
        wait_until(lambda: not sessions.revoked("old-1"), timeout=3)  # 3 minutes old > keep
    finally:
        sessions.stop()


def test_without_the_broker_every_check_asks_identity():
    rpc = IdentityAnswers()
    nowhere = f"pyamqp://guest:guest@127.0.0.1:{free_port()}/"
    sessions = IdentityFeed(nowhere, rpc=lambda: rpc, keep=timedelta(minutes=15))
    try:
        assert not sessions.wait_healthy(0.5)
        assert sessions.revoked("old-1") and not sessions.revoked("live-1")
        assert rpc.asked == 2
    finally:
        sessions.stop()


def test_authenticated_requests_and_me_need_no_call_to_identity(
    gateway_app, client, bearer, amqp_uri
):
    rpc = IdentityAnswers()
    gateway_app.extensions["rpc"] = rpc
    sessions = IdentityFeed(amqp_uri, rpc=lambda: rpc, keep=timedelta(minutes=15))
    gateway_app.extensions["identity_feed"] = sessions
    try:
        assert sessions.wait_healthy(10)
        assert client.get("/api/v1/admin/whoami", headers=bearer("grid_worker")).status_code == 200
        rpc.answer("identity", "me", {"id": "u-1", "username": "li", "display_name": "李"})
        for _ in range(3):  # the profile is read once, then known
            me = client.get("/api/v1/auth/me", headers=bearer("grid_worker"))
            assert me.status_code == 200 and me.json["user"]["display_name"] == "李"
        assert [c.method for c in rpc.calls] == ["revoked_sessions", "me"]
        assert rpc.asked == 0
        # identity announces a change: the next /me shows it, still without a call
        changed = {"id": "u-1", "username": "li", "display_name": "李明"}
        amqp_publisher(amqp_uri, "identity")(envelope(USER_CHANGED, changed, producer="identity"))
        wait_until(
            lambda: (
                client.get("/api/v1/auth/me", headers=bearer("grid_worker")).json["user"][
                    "display_name"
                ]
                == "李明"
            )
        )
        assert [c.method for c in rpc.calls] == ["revoked_sessions", "me"]
        revoked = client.get("/api/v1/admin/whoami", headers=bearer("grid_worker", fam="old-1"))
        assert revoked.status_code == 401 and revoked.json["error"] == "token_revoked"
    finally:
        sessions.stop()
