"""The gateway test tier: each blueprint through Flask's test client against a recording
fake RPC pool (DESIGN §8). No broker, no services: what a route sends and how it maps
answers and errors is asserted here; the end-to-end tier covers what needs the system.

    def test_create_household(client, rpc, bearer):
        rpc.answer("grid", "create_household", {"id": "h1", ...})
        answer = client.post("/api/v1/households", json={...}, headers=bearer("grid_worker"))
        assert answer.status_code == 201
        call = rpc.last("grid", "create_household")
        assert call.kwargs["caller"].scopes == ("330424001001",)
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from flask_jwt_extended import create_access_token
from kombu.utils.json import dumps, loads

from gateway.app import create_app
from gateway.rpc import RpcPool

SECRET = "gateway-tier-secret-0123456789abcdef"
SCOPE = "330424001001"
# No broker or database here: rate-limit counters in memory, revocations and profiles asked
# per request (through the recording RPC's `session_active` and `me`).
TIER_CONFIG = {"RATELIMIT_STORAGE_URI": "memory://", "REVOCATION_FEED": False}


@dataclass
class Call:
    service: str
    method: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


class RecordingRpc(RpcPool):
    """Records every call and answers what the test told it to; anything else fails loudly.

    Arguments pass through the broker's JSON codec, as on the wire: a route that sends
    something the broker could not carry fails here too.
    """

    def __init__(self):
        super().__init__("memory://")
        self.calls: list[Call] = []
        self.answers: dict[tuple[str, str], Any] = {}
        self.revoked: set[str] = set()

    def answer(self, service: str, method: str, value: Any) -> None:
        """`value` is returned (a copy), raised (an exception) or called with the args."""
        self.answers[(service, method)] = value

    def call(self, service: str, method: str, *args: Any, **kwargs: Any):
        if (service, method) == ("identity", "session_active"):
            return args[0] not in self.revoked
        args, kwargs = loads(dumps([list(args), kwargs]))
        self.calls.append(Call(service, method, tuple(args), kwargs))
        if (service, method) not in self.answers:
            raise AssertionError(f"unexpected RPC {service}.{method}{tuple(args)}")
        value = self.answers[(service, method)]
        if isinstance(value, BaseException):
            raise value
        if isinstance(value, Callable):  # type: ignore[arg-type]
            return value(*args, **kwargs)
        return copy.deepcopy(value)

    def last(self, service: str, method: str) -> Call:
        found = [c for c in self.calls if (c.service, c.method) == (service, method)]
        assert found, f"{service}.{method} was not called"
        return found[-1]


@pytest.fixture
def rpc() -> RecordingRpc:
    return RecordingRpc()


@pytest.fixture
def gateway_app(tmp_path, rpc):
    app = create_app({"PWA_DIST": str(tmp_path), "JWT_SECRET_KEY": SECRET, **TIER_CONFIG})
    for pool in ("rpc", "slow_rpc", "health_rpc"):
        app.extensions[pool] = rpc
    return app


@pytest.fixture
def client(gateway_app):
    return gateway_app.test_client()


@pytest.fixture
def bearer(gateway_app) -> Callable[..., dict]:
    """Headers of a signed-in user: bearer("grid_worker", scopes=("3304…",), sub="u-1")."""

    def make(*roles: str, scopes=(SCOPE,), sub: str = "u-1", fam: str = "fam-1") -> dict:
        with gateway_app.app_context():
            token = create_access_token(
                sub,
                additional_claims={
                    "roles": list(roles),
                    "scopes": list(scopes),
                    "fam": fam,
                    "name": sub,
                },
                expires_delta=timedelta(minutes=15),
            )
        return {"Authorization": f"Bearer {token}"}

    return make
