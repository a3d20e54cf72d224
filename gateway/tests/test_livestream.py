"""The live stream app (gateway/livestream) through Flask's test client, with a recording
fake RPC and its hub fed by hand (no broker): the token checked on open, replay from
Last-Event-ID with nothing repeated, live messages after it, heartbeats, and the stream
closing when its session is revoked or its token expires. The end-to-end tier runs it under
gunicorn's gevent worker against the real broker."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from gateway.livestream.app import create_stream_app
from gateway.livestream.hub import CHECK
from gateway.tests.conftest import SECRET, TIER_CONFIG

PATH = "/api/v1/stream"


def message(seq: int, user: str = "u-1") -> dict:
    return {
        "id": f"m{seq}",
        "user_id": user,
        "seq": seq,
        "kind": "case_dispatched",
        "title": f"新案件 {seq}",
        "body": "…",
        "alert": True,
    }


@pytest.fixture
def stream_app(rpc, monkeypatch):
    app = create_stream_app(
        {"JWT_SECRET_KEY": SECRET, "STREAM_HEARTBEAT_SECONDS": 0.3, **TIER_CONFIG}
    )
    app.extensions["rpc"] = rpc
    hub = app.extensions["live_hub"]
    monkeypatch.setattr(hub, "start", lambda: None)  # no broker here: the test feeds it
    return app


def token(app, sub: str = "u-1", fam: str = "fam-1", seconds: float = 900) -> dict:
    with app.app_context():
        made = create_access_token(
            sub,
            additional_claims={"roles": ["grid_worker"], "scopes": ["330424"], "fam": fam},
            expires_delta=timedelta(seconds=seconds),
        )
    return {"Authorization": f"Bearer {made}"}


def read(response, until, timeout: float = 5.0) -> list[tuple[str, dict | str]]:
    """Parse SSE frames until `until(frames)` is true."""
    frames: list = []
    buffer = ""
    chunks = iter(response.response)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            buffer += next(chunks).decode()
        except StopIteration:
            break
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(
                line.split(": ", 1)
                for line in block.splitlines()
                if ": " in line and not line.startswith(":")
            )
            if block.startswith(": ping"):
                frames.append(("ping", ""))
            elif "event" in fields:
                frames.append(
                    (fields["event"], json.loads(fields["data"]) | {"_id": fields.get("id")})
                )
        if until(frames):
            return frames
    raise AssertionError(f"stream did not get there: {frames}")


def test_a_bad_or_revoked_token_is_refused_before_the_stream_opens(stream_app, rpc):
    client = stream_app.test_client()
    origin = {"Origin": "http://localhost:8000"}
    answer = client.get(PATH, headers={"Authorization": "Bearer not-a-token", **origin})
    assert answer.status_code == 401 and answer.json["error"] == "token_invalid"
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
    assert client.get(PATH).json["error"] == "unauthorized"
    rpc.revoked.add("fam-gone")
    gone = client.get(PATH, headers=token(stream_app, fam="fam-gone"))
    assert gone.status_code == 401 and gone.json["error"] == "token_revoked"
    elsewhere = client.options(PATH, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    preflight = client.options(PATH, headers=origin)
    assert "Last-Event-ID" in preflight.headers["Access-Control-Allow-Headers"]


def test_it_resumes_from_the_last_id_then_goes_live_without_repeats(stream_app, rpc):
    hub = stream_app.extensions["live_hub"]
    rpc.answer("notify", "messages_since", lambda seq, limit, caller: [message(4), message(5)])
    answer = stream_app.test_client().get(
        PATH, headers={**token(stream_app), "Last-Event-ID": "3"}, buffered=False
    )
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-store"
    replayed = read(answer, lambda f: len([x for x in f if x[0] == "message"]) == 2)
    assert [(e, d["_id"]) for e, d in replayed if e == "message"] == [
        ("message", "4"),
        ("message", "5"),
    ]
    call = rpc.last("notify", "messages_since")
    assert call.args == (3, 201) and call.kwargs["caller"].actor == "u-1"
    # live: a repeat of 5 is dropped, 6 goes out, another user's message never does
    hub.dispatch(
        {
            "type": "messages_created",
            "payload": {"messages": [message(5), message(6), message(7, "u-2")]},
        }
    )
    hub.dispatch(
        {
            "type": "messages_read",
            "payload": {"user_id": "u-1", "ids": ["m4"], "all": False, "unread": 1},
        }
    )
    live = read(answer, lambda f: any(e == "read" for e, _ in f))
    assert [d["_id"] for e, d in live if e == "message"] == ["6"]
    assert [d["unread"] for e, d in live if e == "read"] == [1]
    assert sorted(r["message_id"] for r in hub._receipts) == ["m4", "m5", "m6"]  # delivered
    pings = read(answer, lambda f: ("ping", "") in f)
    assert pings
    answer.close()
    assert hub.open_streams() == 0


def test_it_closes_when_the_session_is_revoked(stream_app, rpc):
    hub = stream_app.extensions["live_hub"]
    rpc.answer("notify", "summary", {"unread": 0, "latest_seq": 0})
    answer = stream_app.test_client().get(
        PATH, headers=token(stream_app, fam="fam-9"), buffered=False
    )
    threading.Timer(0.2, lambda: (rpc.revoked.add("fam-9"), hub._everyone(CHECK))).start()
    frames = read(answer, lambda f: any(e == "bye" for e, _ in f))
    assert frames[-1][0] == "bye" and frames[-1][1]["reason"] == "session_revoked"


def test_it_closes_when_the_token_expires_and_resyncs_after_a_long_absence(stream_app, rpc):
    rpc.answer(
        "notify", "messages_since", lambda seq, limit, caller: [message(i) for i in range(1, 202)]
    )
    rpc.answer("notify", "summary", {"unread": 250, "latest_seq": 250})
    answer = stream_app.test_client().get(
        PATH, headers={**token(stream_app, seconds=1.2), "Last-Event-ID": "0"}, buffered=False
    )
    frames = read(answer, lambda f: any(e == "bye" for e, _ in f))
    assert frames[0] == ("resync", {"latest_seq": 250, "_id": None})  # reload the inbox
    assert not [e for e, _ in frames if e == "message"]
    assert frames[-1][1]["reason"] == "token_expired"
