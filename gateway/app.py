"""The gateway: the only HTTP surface of Lianxin."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import body, errors, headers, openapi, pwa, ratelimit, requestlog, security
from gateway import config as gateway_config
from gateway.api import (
    admin,
    auth,
    echo,
    grid,
    grid_import,
    grid_staff,
    health,
    households,
    open311,
    visits,
)
from gateway.api import cases as cases_api
from gateway.api import notify as notify_api
from gateway.api import points as points_api
from gateway.rpc import Presence, RpcPool


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(gateway_config.from_env())
    app.config.update(config or {})
    if app.config["TRUSTED_PROXIES"]:  # the client's address and scheme as the proxy saw them
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    uri = app.config["AMQP_URI"]
    presence = Presence(uri)  # a service that is down answers 503 at once (gateway/rpc.py)
    rpc = RpcPool(uri, app.config["RPC_TIMEOUT"], app.config["RPC_POOL_SIZE"], presence)
    app.extensions["rpc"] = rpc
    app.extensions["health_rpc"] = RpcPool(uri, timeout=3.0, size=5, presence=presence)
    # imports and exports of a whole county may take minutes
    app.extensions["slow_rpc"] = RpcPool(uri, timeout=180.0, size=2, presence=presence)

    requestlog.install(app)
    errors.install(app)
    body.install(app)  # strict JSON for every route; Chinese stays readable in answers
    headers.install(app)
    ratelimit.install(app)
    security.install(app)
    for blueprint in (health.bp, auth.bp, admin.bp, echo.bp, openapi.bp):
        app.register_blueprint(blueprint)
    for blueprint in (grid.bp, households.bp, grid_staff.bp, visits.bp, grid_import.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(points_api.bp)
    app.register_blueprint(cases_api.bp)
    app.register_blueprint(open311.bp)
    app.register_blueprint(notify_api.bp)
    app.register_blueprint(pwa.bp)  # last: its catch-all route serves the app shell
    return app
