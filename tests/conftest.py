"""The whole system, started as `make run` starts it, on its own ports, broker virtual host
and data folder, for the end-to-end and browser tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from infra import demo
from infra.system import System
from tests.realparts import whole_system

JWT_SECRET = "e2e-secret-known-to-the-tests-so-they-can-forge-tokens"
# Every test talks from 127.0.0.1 and signs in as the same demo users many times a minute:
# the shared system gets roomy limits. tests/e2e/test_security.py checks the shipped ones on
# gateways of its own.
SUITE_RATE_LIMITS = {
    f"RATE_LIMIT_{name}": "1000 per minute"
    for name in (
        "LOGIN_IP",
        "LOGIN_FAILURES_IP",
        "LOGIN_ACCOUNT",
        "REFRESH_IP",
        "API_KEY",
        "PUBLIC",
    )
}


@dataclass
class LiveSystem:
    base_url: str
    amqp_uri: str
    mongo_url: str
    data_dir: Path
    system: System
    demo_password: str = demo.DEMO_PASSWORD
    jwt_secret: str = JWT_SECRET

    def url(self, path: str) -> str:
        return self.base_url + path

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url(path), headers=headers, timeout=30, **kwargs)

    def login(self, username: str, password: str | None = None) -> dict:
        answer = self.call(
            "POST",
            "/api/v1/auth/login",
            json={"username": username, "password": password or self.demo_password},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def new_user(
        self,
        roles=("resident",),
        scopes=("330424001",),
        password: str = "pass-word-1",
        display_name: str = "测试用户",
    ) -> tuple[str, str]:
        """A fresh user made by the demo operator: (user name, user id)."""
        admin = self.login("admin")["access_token"]
        name = f"u{uuid.uuid4().hex[:10]}"
        body = {
            "username": name,
            "password": password,
            "roles": list(roles),
            "scopes": list(scopes),
            "display_name": display_name,
        }
        created = self.call("POST", "/api/v1/admin/users", admin, json=body)
        assert created.status_code == 201, created.text
        return name, created.json()["id"]

    def restart(self, name: str) -> None:
        self.system.group.restart(name)
        self.system.wait_ready()


@pytest.fixture(scope="session")
def system():
    extra = {"JWT_SECRET_KEY": JWT_SECRET, "DB_PREFIX": "wg_", **SUITE_RATE_LIMITS}
    with whole_system("e2e", extra) as running:
        yield LiveSystem(
            running.base_url,
            running.plan.amqp_uri,
            running.mongo_url,
            running.plan.data_dir,
            running,
        )
