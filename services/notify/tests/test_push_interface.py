"""Web Push over real HTTP to a push service on this machine: the payload arrives encrypted
for the subscription (aes128gcm, which the test decrypts with the subscriber's keys) and
signed with the service's VAPID key; a push service that fails is retried with back-off,
then the delivery is dead and an operator can see and replay it; a subscription the push
service says is gone is forgotten."""

from __future__ import annotations

import base64
import json
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.cases import CASE_DISPATCHED
from contracts.errors import Forbidden
from services.notify.tests.conftest import case, user, wait_for

pytestmark = pytest.mark.interface
OPERATOR = user("op", "operator")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class PushService:
    """Answers `status` to every push and keeps what it got."""

    def __init__(self):
        self.status = 201
        self.got: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def push_service():
    service = PushService()
    yield service
    service.server.shutdown()


def subscribe(notify, push_service, uid: str = "w1"):
    key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    data = {
        "endpoint": f"{push_service.url}/push/{uid}",
        "keys": {"p256dh": b64(public), "auth": b64(auth)},
    }
    assert notify.call("subscribe_push", data, "test-browser", caller=user(uid)) == {
        "subscribed": True
    }
    return key, auth


def test_a_push_arrives_encrypted_and_signed(notify, push_service):
    key, auth = subscribe(notify, push_service)
    server_key = notify.call("push_key")["public_key"]
    assert len(base64.urlsafe_b64decode(server_key + "==")) == 65  # an uncompressed P-256 point
    notify.publish("cases", CASE_DISPATCHED, case("c01"))
    notify.handled(1)
    wait_for(lambda: push_service.got)
    [push] = push_service.got
    assert push["path"] == "/push/w1" and push["headers"]["content-encoding"] == "aes128gcm"
    assert f"k={server_key}" in push["headers"]["authorization"].replace(" ", "")
    clear = http_ece.decrypt(push["body"], private_key=key, auth_secret=auth, version="aes128gcm")
    shown = json.loads(clear)
    assert shown["title"] == "新案件：楼道堆放杂物" and shown["link"] == "/cases/c01"
    message = notify.inbox("w1")["items"][0]

    def sent():  # the push service answered before the sender wrote down the answer
        trail = notify.call("delivery_log", message["id"], caller=user("w1"))["deliveries"]
        found = {d["channel"]: d for d in trail}
        return found if found["push"]["state"] == "sent" else None

    log = wait_for(sent)
    assert log["push"]["state"] == "sent" and log["push"]["attempts"] == 1


def test_failures_back_off_then_dead_letter_and_replay(notify, push_service):
    subscribe(notify, push_service)
    push_service.status = 503
    notify.publish("cases", CASE_DISPATCHED, case("c02"))
    notify.handled(1)
    wait_for(lambda: push_service.got)
    delivery = wait_for(
        lambda: notify.db["deliveries"].find_one(
            {"channel": "push", "state": "queued", "attempts": 1}
        )
    )
    assert delivery["error"] == "push service: 503"
    wait = delivery["next_try_at"] - delivery["last_failed_at"]
    assert timedelta(seconds=1.5) <= wait <= timedelta(seconds=3)  # the first back-off: 2 s
    for tries in range(2, 7):  # move the clock past each back-off: every try fails
        notify.clock.advance(timedelta(minutes=11))
        notify.call("send_due")
        # the service's own timer may have taken this try: let it finish before the clock
        # jumps again, or the jump would expire its lease and the try would run twice
        wait_for(
            lambda n=tries: notify.db["deliveries"].find_one(
                {"channel": "push", "attempts": {"$gte": n}}
            )
        )
    dead = notify.call("dead_deliveries", caller=OPERATOR)
    assert [(d["source"], d["attempts"], d["error"]) for d in dead] == [
        ("delivery", 6, "push service: 503")
    ]
    assert len(push_service.got) == 6
    with pytest.raises(Forbidden):
        notify.call("dead_deliveries", caller=user("w1"))
    push_service.status = 201
    assert notify.call("replay_delivery", dead[0]["id"], caller=OPERATOR)["outcome"] == "queued"
    wait_for(lambda: notify.db["deliveries"].find_one({"_id": dead[0]["id"], "state": "sent"}))
    assert notify.call("dead_deliveries", caller=OPERATOR) == []


def test_a_gone_subscription_is_forgotten(notify, push_service):
    subscribe(notify, push_service)
    push_service.status = 410
    notify.publish("cases", CASE_DISPATCHED, case("c03"))
    notify.handled(1)
    wait_for(lambda: notify.db["deliveries"].find_one({"channel": "push", "state": "dead"}))
    assert notify.db["mailboxes"].find_one({"_id": "w1"})["push"] == []
