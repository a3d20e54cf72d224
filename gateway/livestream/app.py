"""The live stream (Server-Sent Events): `GET /api/v1/stream`, served by its own small Flask
app under gunicorn's gevent worker (gateway/livestream/wsgi.py), beside the API's gthread
workers.

Why its own app: an open stream is a request that lasts minutes. Under the API's gthread
workers each would hold one of 16 threads, so 16 open phones would starve the API; under
gevent each stream is a greenlet (a few KiB), so one process holds thousands while the API
keeps its threads for short requests. One broker consumer per process (`LiveHub`) feeds all
of its streams.

A stream:
- checks its token when it opens (the same JWT rules as the API: a bad, expired or revoked
  token is a 401 in the usual error shape, and the stream is not opened);
- resumes: with `Last-Event-ID: n` (or `?last_event_id=n`) it first sends every message of
  the user's inbox after number n (from the notify service), then live ones; each message's
  `id:` is its number, so a reconnect misses nothing and repeats nothing;
- sends a comment line every STREAM_HEARTBEAT_SECONDS (default 20: inside the 15–25 s that
  keeps proxies from cutting an idle stream);
- closes with `event: bye` when its session is revoked (`gateway.security.session_revoked`,
  looked at again whenever identity announces something) or its access token expires;
- carries `message`, `read` (the unread count changed elsewhere), `digest` and `resync`
  (more was missed than one replay holds: reload the inbox) events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, jsonify, request, stream_with_context
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from contracts.caller import Caller
from gateway import config as gateway_config
from gateway import errors, headers, requestlog, security
from gateway.livestream.hub import CHECK, RESYNC, LiveHub
from gateway.livestream.url import PATH
from gateway.rpc import RpcPool

REPLAY = 200  # messages a reconnect replays; past that the app reloads its inbox


def create_stream_app(config: dict | None = None) -> Flask:
    app = Flask("gateway.livestream", static_folder=None)
    app.config.update(gateway_config.from_env())
    app.config.setdefault("STREAM_HEARTBEAT_SECONDS", _env_int("STREAM_HEARTBEAT_SECONDS", 20))
    app.config.setdefault("STREAM_ALLOW_ORIGINS", _env_list("STREAM_ALLOW_ORIGINS"))
    app.config.update(config or {})
    app.extensions["rpc"] = RpcPool(app.config["AMQP_URI"], timeout=10.0, size=8)
    requestlog.install(app)
    errors.install(app)
    headers.install(app)
    security.install(app)
    feed = app.extensions["identity_feed"]
    app.extensions["live_hub"] = LiveHub(app.config["AMQP_URI"], news=feed.mark)

    @app.get("/healthz")
    def healthz():
        hub: LiveHub = app.extensions["live_hub"]
        return jsonify({"status": "ok", "streams": hub.open_streams()})

    @app.route(PATH, methods=["OPTIONS"])
    def preflight():
        return _cors(Response(status=204), preflight=True)

    @app.get(PATH)
    def stream():
        verify_jwt_in_request()  # 401 in the usual shape; a revoked session is refused here
        claims = get_jwt()
        caller = Caller(
            claims["sub"], tuple(claims.get("roles", ())), tuple(claims.get("scopes", ()))
        )
        last = _last_event_id()
        body = stream_with_context(_events(caller, claims.get("fam", ""), claims["exp"], last))
        response = Response(body, mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
        return _cors(response)

    @app.after_request
    def cors_on_errors(response):
        return _cors(response) if request.path == PATH else response

    return app


def _env_int(name: str, default: int) -> int:
    import os

    return int(os.environ.get(name) or default)


def _env_list(name: str) -> tuple[str, ...]:
    import os

    return tuple(o.strip() for o in (os.environ.get(name) or "").split(",") if o.strip())


def _cors(response: Response, preflight: bool = False) -> Response:
    """The PWA's page may be on another port of this host (no proxy in front): let it read.

    Tokens come in the Authorization header, never in cookies, so allowing an origin grants
    it nothing it does not already hold; still, only this host's origins and the configured
    ones are named.
    """
    origin = request.headers.get("Origin")
    if not origin:
        return response
    allowed = current_app.config["STREAM_ALLOW_ORIGINS"]
    same_host = urlsplit(origin).hostname == urlsplit(f"//{request.host}").hostname
    if same_host or origin in allowed:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        if preflight:
            response.headers["Access-Control-Allow-Methods"] = "GET"
            response.headers["Access-Control-Allow-Headers"] = (
                "Authorization, Last-Event-ID, Accept, Cache-Control"
            )
            response.headers["Access-Control-Max-Age"] = "600"
    return response


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    try:
        return max(0, int(raw)) if raw not in (None, "") else None
    except ValueError:
        return None


def frame(data: dict, event: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _events(caller: Caller, family: str, expires: float, last: int | None) -> Iterator[str]:
    app = current_app
    hub: LiveHub = app.extensions["live_hub"]
    rpc: RpcPool = app.extensions["rpc"]
    beat = float(app.config["STREAM_HEARTBEAT_SECONDS"])
    sub = hub.subscribe(caller.actor)  # first: what arrives while we replay waits in its queue
    seen = last

    def replay() -> Iterator[str]:
        nonlocal seen
        if seen is None:
            seen = rpc.call("notify", "summary", caller=caller)["latest_seq"]
            return
        missed = rpc.call("notify", "messages_since", seen, REPLAY + 1, caller=caller)
        if len(missed) > REPLAY:
            seen = rpc.call("notify", "summary", caller=caller)["latest_seq"]
            yield frame({"latest_seq": seen}, "resync")
            return
        for message in missed:
            yield from send(message)

    def send(message: dict) -> Iterator[str]:
        nonlocal seen
        if seen is not None and message["seq"] <= seen:
            return  # already sent (replayed, then heard live)
        seen = message["seq"]
        yield frame(message, "message", message["seq"])
        hub.delivered(message["id"], caller.actor)

    try:
        yield f"retry: 3000\n: connected {hub.process}\n\n"
        yield from replay()
        next_beat = time.monotonic() + beat
        while True:
            now = time.monotonic()
            left = expires - time.time()
            if left <= 0:
                yield frame({"reason": "token_expired"}, "bye")
                return
            item = sub.get(min(next_beat - now, left))
            if sub.overflowed:  # too far behind: the app reconnects and resumes from `seen`
                yield frame({"reason": "too_slow"}, "bye")
                return
            if item is None or item is CHECK:
                if security.session_revoked(family):
                    yield frame({"reason": "session_revoked"}, "bye")
                    return
                if item is None:
                    yield ": ping\n\n"
                    next_beat = time.monotonic() + beat
                continue
            if item is RESYNC:
                yield from replay()
                continue
            kind, data = item
            if kind == "message":
                yield from send(data)
            else:
                yield frame(data, kind)
    finally:
        hub.unsubscribe(sub)
