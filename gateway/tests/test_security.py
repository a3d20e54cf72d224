"""The reusable guards every endpoint uses, on a small app with a fake RPC pool."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import jsonify
from flask_jwt_extended import create_access_token

from gateway.app import create_app
from gateway.rpc import RpcPool
from gateway.security import current_principal, requires_roles, requires_scope
from gateway.tests.conftest import TIER_CONFIG


class FakeRpc(RpcPool):
    """Answers the calls the guards make, without a broker."""

    def __init__(self):
        super().__init__("memory://")
        self.revoked: set[str] = set()

    def call(self, service, method, *args, **kwargs):
        if (service, method) == ("identity", "session_active"):
            return args[0] not in self.revoked
        raise AssertionError(f"unexpected call {service}.{method}")


@pytest.fixture
def app(tmp_path):
    app = create_app(
        {
            "PWA_DIST": str(tmp_path),
            "JWT_SECRET_KEY": "unit-test-secret-0123456789abcdef",
            **TIER_CONFIG,
        }
    )
    app.extensions["rpc"] = FakeRpc()

    @app.get("/t/grids/<code>")
    @requires_scope(lambda kw: kw["code"])
    def grid(code):
        return jsonify({"code": code, "by": current_principal().id})

    @app.get("/t/ops")
    @requires_roles("operator", "county_admin")
    def ops():
        return jsonify({"ok": True})

    return app


def token(app, roles=("grid_worker",), scopes=("330424001001",), fam="f1", expires=None):
    with app.app_context():
        return create_access_token(
            "u1",
            additional_claims={"roles": list(roles), "scopes": list(scopes), "fam": fam},
            expires_delta=expires or timedelta(minutes=15),
        )


def get(app, path, tok):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {tok}"})


def test_scope_guard_allows_codes_under_the_users_scopes(app):
    assert get(app, "/t/grids/330424001001-001-02", token(app)).status_code == 200
    denied = get(app, "/t/grids/330424002001-001", token(app))
    assert denied.status_code == 403 and denied.json["error"] == "forbidden"


def test_role_guard(app):
    assert get(app, "/t/ops", token(app, roles=("county_admin",))).status_code == 200
    assert get(app, "/t/ops", token(app)).json["error"] == "forbidden"


def test_revoked_family_is_refused_everywhere(app):
    tok = token(app, fam="gone")
    app.extensions["rpc"].revoked.add("gone")
    assert get(app, "/t/ops", tok).json["error"] == "token_revoked"


def test_expired_token(app):
    tok = token(app, expires=timedelta(seconds=-5))
    assert get(app, "/t/grids/330424001001", tok).json["error"] == "token_expired"
