"""Issue 7 §5, §6, §7, §9 end to end: sessions end when scopes change, sign-in answers do not
tell accounts apart, bad JSON is a 400 on the real system, rate limits and revocations hold
across gateway processes.

Two extra gateway processes (gunicorn, one worker each) join the running system with the
shipped rate limits (the shared system runs with roomy ones, see tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.realparts import free_port, wait_for_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOGIN = "/api/v1/auth/login"
HAIXING = "330424001001"


def new_user(system) -> tuple[str, str]:
    return system.new_user(("grid_worker",), (HAIXING,))


def test_changing_scopes_ends_the_users_sessions_at_once(system):
    name, user_id = new_user(system)
    tokens = system.login(name, "pass-word-1")
    access = tokens["access_token"]
    page = system.call("GET", "/api/v1/households", access, params={"grid_code": HAIXING})
    assert page.status_code == 200, page.text
    admin = system.login("admin")["access_token"]
    moved = system.call(
        "PATCH", f"/api/v1/admin/users/{user_id}", admin, json={"scopes": ["330424104201"]}
    )
    assert moved.status_code == 200, moved.text
    # the very next request with the old token (old scopes inside) is refused
    again = system.call("GET", "/api/v1/households", access, params={"grid_code": HAIXING})
    assert again.status_code == 401 and again.json()["error"] == "token_revoked"
    refreshed = system.call("POST", "/api/v1/auth/refresh", tokens["refresh_token"])
    assert refreshed.status_code == 401
    # signing in again gives a token with the new scopes
    fresh = system.login(name, "pass-word-1")
    assert fresh["user"]["scopes"] == ["330424104201"]


def test_me_shows_a_changed_profile_at_once_without_asking_identity_each_time(system):
    name, user_id = new_user(system)
    access = system.login(name, "pass-word-1")["access_token"]
    for _ in range(4):  # both gunicorn workers have read (and kept) the profile
        assert system.call("GET", "/api/v1/auth/me", access).json()["user"]["username"] == name
    admin = system.login("admin")["access_token"]
    changed = system.call(
        "PATCH", f"/api/v1/admin/users/{user_id}", admin, json={"display_name": "新名字"}
    )
    assert changed.status_code == 200, changed.text
    for _ in range(4):  # identity's announcement replaced it in every process
        me = system.call("GET", "/api/v1/auth/me", access)
        assert me.status_code == 200 and me.json()["user"]["display_name"] == "新名字"


def sign_in_answers(system, name: str, password: str, tries: int = 6) -> list:
    seen = []
    for _ in range(tries):
        answer = system.call("POST", LOGIN, json={"username": name, "password": password})
        body = answer.json()
        seen.append((answer.status_code, body["error"], answer.headers.get("Retry-After")))
    return seen


def test_unknown_disabled_and_real_accounts_answer_alike(system):
    real, _ = new_user(system)
    disabled, disabled_id = new_user(system)
    admin = system.login("admin")["access_token"]
    system.call("PATCH", f"/api/v1/admin/users/{disabled_id}", admin, json={"disabled": True})
    unknown = f"nobody{uuid.uuid4().hex[:8]}"
    expected = [(401, "invalid_credentials")] * 4 + [(429, "account_locked")] * 2
    for name, password in (
        (real, "wrong-password"),
        (unknown, "wrong-password"),
        (disabled, "pass-word-1"),
    ):
        seen = sign_in_answers(system, name, password)  # disabled: with the right password
        assert [answer[:2] for answer in seen] == expected, name
        assert [answer[2] for answer in seen[:5]] == [None] * 4 + ["30"]
        assert 1 <= int(seen[5][2]) <= 30  # the same lock, a moment later
    # the audit log keeps the truth for operators
    kinds = [
        e["kind"]
        for e in system.call("GET", f"/api/v1/admin/audit?username={disabled}", admin).json()
    ]
    assert "login_disabled" in kinds and "lockout" in kinds


def test_bad_json_is_a_400_on_the_real_system(system):
    token = system.login("worker01")["access_token"]
    lone = b'"\\ud800"'
    cases = [
        ("POST", LOGIN, b'{"username": ' + lone + b', "password": "x"}', None),
        ("PATCH", "/api/v1/households/any", b'{"version": 1, "notes": ' + lone + b"}", token),
        ("POST", "/api/v1/echo", b'{"client_id": "abcdefgh12", "payload": ' + lone + b"}", token),
        ("POST", "/api/v1/echo", b'{"payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", token),
        (
            "POST",
            "/api/v1/echo",
            b'{"client_id": "abcdefgh12", "payload": {"__type__": "x", "__value__": 1}}',
            token,
        ),
    ]
    for method, path, raw, bearer in cases:
        answer = system.call(
            method, path, bearer, data=raw, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 400, (path, answer.text[:300])
        assert answer.json()["error"] == "invalid_json" and answer.json()["details"]


# --- two more gateway processes ------------------------------------------------------------
@contextlib.contextmanager
def gateway_process(system, log: Path):
    """One more gunicorn gateway on the same broker, database and JWT key, shipped limits."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RATE_LIMIT_", "REVOCATION"))}
    env.update(
        {
            "AMQP_URI": system.amqp_uri,
            "MONGO_URL": system.mongo_url,
            "LIANXIN_DATA": str(system.data_dir),
            "JWT_SECRET_KEY": system.jwt_secret,
            "DB_PREFIX": "wg_",
            "PYTHONPATH": str(ROOT),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
    )
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "gateway.wsgi:app",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, 60, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def gateways(system, tmp_path_factory):
    logs = tmp_path_factory.mktemp("gateways")
    with (
        gateway_process(system, logs / "b.log") as b,
        gateway_process(system, logs / "c.log") as c,
    ):
        yield {"b": b, "c": c, "logs": logs}


def test_logout_on_one_gateway_is_refused_on_another_within_a_second(system, gateways):
    b, c = gateways["b"], gateways["c"]
    body = {"username": "worker02", "password": system.demo_password}
    tokens = requests.post(b + LOGIN, json=body, timeout=30).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(c + "/api/v1/admin/whoami", headers=bearer, timeout=30).status_code == 200
    # c follows identity's announcements (its first request started the subscription)
    log = gateways["logs"] / "c.log"
    deadline = time.monotonic() + 20
    while "revocation feed following identity" not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
        time.sleep(0.1)

    assert requests.post(b + "/api/v1/auth/logout", headers=bearer, timeout=30).status_code == 204
    ended = time.monotonic()
    while True:
        answer = requests.get(c + "/api/v1/admin/whoami", headers=bearer, timeout=30)
        if answer.status_code == 401:
            break
        assert answer.status_code == 200
        assert time.monotonic() - ended < 1.0, "still accepted a second after logout"
        time.sleep(0.02)
    assert answer.json()["error"] == "token_revoked"
    assert time.monotonic() - ended < 1.0


def test_failed_sign_ins_are_counted_across_gateway_processes(gateways):
    answers = []
    for i in range(11):
        base = gateways["b"] if i % 2 else gateways["c"]
        name = f"ghost{uuid.uuid4().hex[:8]}"  # never the same name: no account lock-out
        answers.append(requests.post(base + LOGIN, json={"username": name, "password": "x"}))
    assert [a.status_code for a in answers[:10]] == [401] * 10
    last = answers[10]
    assert last.status_code == 429, last.text
    assert last.json()["error"] == "rate_limited"
    assert int(last.headers["Retry-After"]) == last.json()["details"]["retry_after"] >= 1
