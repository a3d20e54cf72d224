"""Rate limits (issue 7 §6): sign-in per address and per account, refresh, API-key use and the
public notice board, answered 429 `rate_limited` with Retry-After in the usual shape.

Counters live in memory here; tests/e2e/test_security.py shows them shared by two gateway
processes through MongoDB. Limits are read from the config at each request, so the tests set
small ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import jsonify
from flask_jwt_extended import create_refresh_token

from contracts.errors import ApiKeyInvalid, InvalidCredentials
from gateway.config import from_env

SESSION = {
    "user": {"id": "u-1", "username": "li", "display_name": "李", "roles": [], "scopes": []},
    "family": "fam-1",
    "jti": "j1",
}


def login(client, name="li", ip="10.0.0.1", headers=None):
    return client.post(
        "/api/v1/auth/login",
        json={"username": name, "password": "pw"},
        environ_base={"REMOTE_ADDR": ip},
        headers=headers or {},
    )


def assert_limited(answer):
    assert answer.status_code == 429, answer.data
    body = answer.json
    assert body["error"] == "rate_limited" and body["message"] == "操作太频繁，请稍后再试"
    retry = int(answer.headers["Retry-After"])
    assert 1 <= retry <= 3600 and body["details"]["retry_after"] == retry
    return body


@pytest.fixture
def limits(gateway_app):
    def set_limits(**values):
        for name, value in values.items():
            gateway_app.config[f"RATE_LIMIT_{name}"] = value

    return set_limits


def test_the_shipped_limits():
    config = from_env()
    assert config["RATE_LIMIT_LOGIN_IP"] == "30 per minute; 300 per hour"
    assert config["RATE_LIMIT_LOGIN_FAILURES_IP"] == "10 per minute"
    assert config["RATE_LIMIT_LOGIN_ACCOUNT"] == "10 per minute"
    assert config["RATE_LIMIT_REFRESH_IP"] == "60 per minute"
    assert config["RATE_LIMIT_API_KEY"] == "600 per minute"
    assert config["RATE_LIMIT_PUBLIC"] == "120 per minute"


def test_sign_ins_per_address(client, rpc, limits):
    limits(LOGIN_IP="3 per minute")
    rpc.answer("identity", "login", SESSION)
    assert [login(client, f"user{i}").status_code for i in range(3)] == [200] * 3
    assert_limited(login(client, "user9"))
    assert len(rpc.calls) == 3  # the refused one never reached identity
    assert login(client, "user9", ip="10.0.0.2").status_code == 200  # another address


def test_failed_sign_ins_per_address_across_accounts(client, rpc, limits):
    limits(LOGIN_FAILURES_IP="4 per minute")
    rpc.answer("identity", "login", InvalidCredentials())
    answers = [login(client, f"user{i}").status_code for i in range(4)]
    assert answers == [401] * 4
    assert_limited(login(client, "user5"))
    rpc.answer("identity", "login", SESSION)
    assert_limited(login(client, "user6"))  # even with the right password, for a while
    assert len(rpc.calls) == 4


def test_sign_ins_per_account_from_many_addresses(client, rpc, limits):
    limits(LOGIN_ACCOUNT="3 per minute")
    rpc.answer("identity", "login", InvalidCredentials())
    for i in range(3):
        assert login(client, "li", ip=f"10.0.1.{i}").status_code == 401
    assert_limited(login(client, "li", ip="10.0.1.99"))
    # unknown or not, every name is limited alike; other names are untouched
    assert login(client, "zhang", ip="10.0.1.99").status_code == 401


def test_refresh_per_address(gateway_app, client, rpc, limits):
    limits(REFRESH_IP="2 per minute")
    rpc.answer("identity", "refresh", SESSION)
    with gateway_app.app_context():
        token = create_refresh_token(
            "u-1", additional_claims={"fam": "fam-1", "rjti": "j1"}, expires_delta=timedelta(1)
        )
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        assert client.post("/api/v1/auth/refresh", headers=headers).status_code == 200
    assert_limited(client.post("/api/v1/auth/refresh", headers=headers))


def test_api_key_use_per_key_and_per_address(client, rpc, limits):
    limits(API_KEY="2 per minute")
    rpc.answer(
        "identity", "verify_api_key", {"id": "k1", "name": "热线", "roles": [], "scopes": []}
    )

    def use(key, ip="10.0.2.1"):
        return client.get(
            "/api/v1/admin/whoami", headers={"X-API-Key": key}, environ_base={"REMOTE_ADDR": ip}
        )

    assert [use("lxk_one").status_code for _ in range(2)] == [200, 200]
    assert_limited(use("lxk_one", ip="10.0.2.2"))  # the same key from elsewhere
    assert_limited(use("lxk_two"))  # another key from the same address
    assert use("lxk_two", ip="10.0.2.3").status_code == 200
    # guessing keys is limited too: rejected keys count before identity is asked
    rpc.answer("identity", "verify_api_key", ApiKeyInvalid())
    assert use("lxk_guess1", ip="10.0.2.4").status_code == 401
    assert use("lxk_guess2", ip="10.0.2.4").status_code == 401
    assert_limited(use("lxk_guess3", ip="10.0.2.4"))


def test_the_public_board_per_address_and_nothing_else_by_default(gateway_app, limits):
    limits(PUBLIC="2 per minute")

    @gateway_app.get("/api/v1/public/t/board")
    def board():
        return jsonify({"ok": True})

    client = gateway_app.test_client()
    assert [client.get("/api/v1/public/t/board").status_code for _ in range(2)] == [200, 200]
    assert_limited(client.get("/api/v1/public/t/board"))
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(client, rpc, limits):
    limits(LOGIN_IP="2 per minute")
    rpc.answer("identity", "login", SESSION)
    spoofed = [{"X-Forwarded-For": f"192.0.2.{i}"} for i in range(3)]
    answers = [login(client, f"u{i}", headers=h).status_code for i, h in enumerate(spoofed)]
    assert answers == [200, 200, 429]


def test_behind_a_trusted_proxy_each_client_is_counted(tmp_path, rpc):
    from gateway.app import create_app
    from gateway.tests.conftest import SECRET, TIER_CONFIG

    app = create_app(
        {"PWA_DIST": str(tmp_path), "JWT_SECRET_KEY": SECRET, "TRUSTED_PROXIES": 1, **TIER_CONFIG}
    )
    app.extensions["rpc"] = rpc
    app.config["RATE_LIMIT_LOGIN_IP"] = "2 per minute"
    rpc.answer("identity", "login", SESSION)
    client = app.test_client()
    answers = [
        login(client, f"u{i}", headers={"X-Forwarded-For": f"192.0.2.{i % 2}"}).status_code
        for i in range(4)
    ]
    assert answers == [200] * 4
    assert_limited(login(client, "u9", headers={"X-Forwarded-For": "192.0.2.1"}))
