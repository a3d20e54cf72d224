"""Liveness and readiness."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify

from gateway.rpc import ServiceUnavailable

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
    """Broker, database and every service answer (each service pings its database).
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

    with ThreadPoolExecutor(len(services)) as pool:
        checks = dict(pool.map(ask, services))
    ready = all(state == "ok" for state in checks.values())
    body = {"status": "ready" if ready else "not_ready", "services": checks}
    return jsonify(body), (200 if ready else 503)
