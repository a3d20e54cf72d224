"""Liveness and readiness."""

from __future__ import annotations

import os
import socket
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Flask, current_app, jsonify
from pymongo import MongoClient

from gateway.rpc import ServiceUnavailable
from services.kit.settings import db_name

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The gateway process answers.
    ---
    responses: {200: null}
    """
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Broker, database, the live stream and every service answer; `down` names what does
    not (each service also pings its database through its own connection).
    ---
    responses: {200: null, 503: null}
    """
    rpc = current_app.extensions["health_rpc"]
    services = current_app.config["SERVICES"]

    def ask(name: str):
        try:
            rpc.call(name, "health")
            return name, "ok"
        except ServiceUnavailable as exc:
            return name, exc.reason
        except Exception as exc:  # a service that answers with an error is not ready
            return name, f"error: {type(exc).__name__}"

    with ThreadPoolExecutor(len(services) + 2) as pool:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        database = pool.submit(_database_state, app)
        stream = pool.submit(_stream_state, app)
        checks = dict(pool.map(ask, services))
        parts = {**database.result(), "stream": stream.result()}
    down = [name for name, state in {**parts, **checks}.items() if state != "ok"]
    body = {"status": "not_ready" if down else "ready", "down": down, "services": checks}
    return jsonify({**body, **parts}), (503 if down else 200)


def _database_state(app: Flask) -> dict[str, str]:
    client = app.extensions.get("health_mongo")
    if client is None:
        client = app.extensions["health_mongo"] = MongoClient(
            app.config["MONGO_URL"], serverSelectionTimeoutMS=1500, connectTimeoutMS=1500
        )
    try:
        client.admin.command("ping")
        # `make run` loads the demo county into an empty database (infra/demo.py); until it
        # is in, a page would show half a county
        marker = client[db_name("system")]["demo"].find_one({"_id": "demo"}) or {}
        if marker.get("state") == "loading":
            return {"database": "ok", "demo": "loading"}
        return {"database": "ok"}
    except Exception as exc:
        return {"database": f"unreachable: {type(exc).__name__}"}


def _stream_state(app: Flask) -> str:
    """The live stream's own port, when it runs beside us (a proxy's URL is not ours to ask)."""
    if app.config.get("STREAM_URL") or os.environ.get("STREAM_URL"):
        return "ok"
    port = int(app.config.get("STREAM_PORT") or os.environ.get("STREAM_PORT") or 8001)
    try:
        with socket.create_connection(("127.0.0.1", port), 1.0):
            return "ok"
    except OSError:
        return "not running"
