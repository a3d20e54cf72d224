"""Sign-in end to end: over HTTP, through gunicorn, RabbitMQ, the identity service and the
database, as the PWA and machine clients use it."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import jwt as pyjwt
import pytest

pytestmark = pytest.mark.e2e
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def assert_error(answer, status: int, code: str):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == code, body
    assert body["message"], body
    assert "Traceback" not in answer.text
    return body


def new_user(system, roles=("resident",), scopes=("330424001",)) -> tuple[str, str]:
    return system.new_user(roles, scopes)


@pytest.mark.parametrize(
    "username,role",
    [
        ("worker01", "grid_worker"),
        ("merchant01", "merchant_staff"),
        ("admin", "operator"),
        ("resident01", "resident"),
    ],
)
def test_login_and_me_for_each_role(system, username, role):
    tokens = system.login(username)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] <= 900
    me = system.call("GET", ME, tokens["access_token"])
    assert me.status_code == 200
    assert me.json()["user"]["username"] == username
    assert role in me.json()["user"]["roles"]
    claims = pyjwt.decode(tokens["access_token"], system.jwt_secret, algorithms=["HS256"])
    assert claims["roles"] == me.json()["user"]["roles"] and claims["scopes"]
    assert claims["exp"] - claims["iat"] <= 15 * 60


def test_wrong_password_is_401_in_the_callers_language(system):
    zh = assert_error(
        system.call("POST", LOGIN, json={"username": "worker01", "password": "nope"}),
        401,
        "invalid_credentials",
    )
    assert zh["message"] == "用户名或密码错误"
    en = assert_error(
        system.call(
            "POST",
            LOGIN,
            json={"username": "nobody", "password": "x"},
            headers={"Accept-Language": "en-US,en;q=0.9"},
        ),
        401,
        "invalid_credentials",
    )
    assert en["message"] == "Wrong user name or password"


def test_growing_lockout_with_retry_after_and_audit(system):
    name, _ = new_user(system)
    for _ in range(4):
        assert_error(
            system.call("POST", LOGIN, json={"username": name, "password": "bad"}),
            401,
            "invalid_credentials",
        )
    locked = system.call("POST", LOGIN, json={"username": name, "password": "bad"})
    body = assert_error(locked, 429, "account_locked")
    assert int(locked.headers["Retry-After"]) == body["details"]["retry_after"] == 30
    assert "30" in body["message"]
    # the right password does not get through while locked
    assert_error(
        system.call("POST", LOGIN, json={"username": name, "password": "pass-word-1"}),
        429,
        "account_locked",
    )
    admin = system.login("admin")["access_token"]
    kinds = [
        e["kind"] for e in system.call("GET", f"/api/v1/admin/audit?username={name}", admin).json()
    ]
    assert kinds.count("login_failed") == 5 and "lockout" in kinds and "login_locked" in kinds


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "worker01"}, "password"),
        ({"password": "x"}, "username"),
        ({"username": 5, "password": "x"}, "username"),
        ({"username": "worker01", "password": ["x"]}, "password"),
        ({"username": "worker01", "password": "x", "remember": True}, "remember"),
        ({"username": "", "password": "x"}, "username"),
    ],
)
def test_bad_login_bodies_name_the_field(system, body, field):
    answer = assert_error(system.call("POST", LOGIN, json=body), 400, "validation_failed")
    assert field in answer["details"]
    assert all(ord(ch) > 127 for ch in answer["details"][field][0][:2])  # said in Chinese


@pytest.mark.parametrize(
    "raw,ctype",
    [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"[1,2]", "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"username=a&password=b", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_are_400(system, raw, ctype):
    assert_error(
        system.call("POST", LOGIN, data=raw, headers={"Content-Type": ctype}), 400, "invalid_json"
    )


def test_huge_payload_is_413_and_unicode_is_fine(system):
    assert_error(
        system.call(
            "POST",
            LOGIN,
            data=b"{" + b" " * (3 * 1024 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
        ),
        413,
        "payload_too_large",
    )
    assert_error(
        system.call("POST", LOGIN, json={"username": "网格员😀", "password": "密码"}),
        401,
        "invalid_credentials",
    )


def forge(system, claims: dict, secret: str | None = None, alg: str = "HS256") -> str:
    now = datetime.now(timezone.utc)
    base = {
        "sub": "someone",
        "type": "access",
        "fresh": False,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "roles": ["operator"],
        "scopes": ["33"],
        "fam": "nope",
    }
    base.update(claims)
    return pyjwt.encode(base, secret or system.jwt_secret, algorithm=alg)


def test_bad_tokens_are_401(system):
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    assert_error(
        system.call(
            "GET",
            ME,
            forge(
                system,
                {
                    "exp": past,
                    "iat": past - timedelta(minutes=15),
                    "nbf": past - timedelta(minutes=15),
                },
            ),
        ),
        401,
        "token_expired",
    )
    assert_error(
        system.call("GET", ME, forge(system, {}, secret="a-different-secret-of-enough-length")),
        401,
        "token_invalid",
    )
    good = system.login("worker01")["access_token"]
    head, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["operator"]
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_error(
        system.call("GET", "/api/v1/admin/users", f"{head}.{tampered}.{sig}"), 401, "token_invalid"
    )
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    assert_error(system.call("GET", ME, f"{none_head}.{payload}."), 401, "token_invalid")
    assert_error(system.call("GET", ME, "garbage"), 401, "token_invalid")
    assert_error(system.call("GET", ME), 401, "unauthorized")


def test_refresh_token_is_not_an_access_token_and_back(system):
    tokens = system.login("worker01")
    assert_error(system.call("GET", ME, tokens["refresh_token"]), 401, "wrong_token_type")
    assert_error(system.call("POST", REFRESH, tokens["access_token"]), 401, "wrong_token_type")


def _rjti(refresh_token: str) -> str:
    return pyjwt.decode(refresh_token, options={"verify_signature": False})["rjti"]


def test_refresh_rotates_and_reuse_revokes_the_family(system):
    first = system.login("worker01")
    second = system.call("POST", REFRESH, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert system.call("GET", ME, second["access_token"]).status_code == 200
    # the answer was lost and the phone sends the same token again (within the grace): the
    # same session comes back, and its next rotation works
    retried = system.call("POST", REFRESH, first["refresh_token"])
    assert retried.status_code == 200, retried.text
    assert _rjti(retried.json()["refresh_token"]) == _rjti(second["refresh_token"])
    third = system.call("POST", REFRESH, retried.json()["refresh_token"]).json()
    assert _rjti(third["refresh_token"]) != _rjti(second["refresh_token"])
    # a token from before the previous one is reuse, at once
    assert_error(system.call("POST", REFRESH, first["refresh_token"]), 401, "refresh_reused")
    # the family is revoked: the newest refresh token and the access tokens die with it
    assert_error(system.call("POST", REFRESH, third["refresh_token"]), 401, "token_revoked")
    assert_error(system.call("GET", ME, third["access_token"]), 401, "token_revoked")
    assert_error(system.call("GET", ME, second["access_token"]), 401, "token_revoked")
    assert_error(system.call("GET", ME, first["access_token"]), 401, "token_revoked")
    # another login of the same user is untouched
    assert system.call("GET", ME, system.login("worker01")["access_token"]).status_code == 200


def test_logout_revokes_both_and_survives_a_restart(system):
    tokens = system.login("leader01")
    other = system.login("leader01")
    assert system.call("POST", LOGOUT, tokens["access_token"]).status_code == 204
    assert_error(system.call("GET", ME, tokens["access_token"]), 401, "token_revoked")
    assert_error(system.call("POST", REFRESH, tokens["refresh_token"]), 401, "token_revoked")
    system.restart("gateway")
    system.restart("identity")
    assert_error(system.call("GET", ME, tokens["access_token"]), 401, "token_revoked")
    assert_error(system.call("POST", REFRESH, tokens["refresh_token"]), 401, "token_revoked")
    assert system.call("GET", ME, other["access_token"]).status_code == 200


def test_role_not_held_is_403(system):
    worker = system.login("worker01")["access_token"]
    assert_error(system.call("GET", "/api/v1/admin/users", worker), 403, "forbidden")
    assert_error(
        system.call(
            "POST", "/api/v1/admin/api-keys", worker, json={"name": "x", "roles": ["operator"]}
        ),
        403,
        "forbidden",
    )


def test_disabled_user_cannot_log_in_or_refresh(system):
    name, user_id = new_user(system)
    tokens = system.login(name, "pass-word-1")
    admin = system.login("admin")["access_token"]
    assert (
        system.call(
            "PATCH", f"/api/v1/admin/users/{user_id}", admin, json={"disabled": True}
        ).status_code
        == 200
    )
    # Issue 7 §6: a disabled account answers as a wrong password does (no enumeration).
    assert_error(
        system.call("POST", LOGIN, json={"username": name, "password": "pass-word-1"}),
        401,
        "invalid_credentials",
    )
    assert system.call("POST", REFRESH, tokens["refresh_token"]).status_code == 401
    assert system.call("GET", ME, tokens["access_token"]).status_code == 401


def test_api_keys_are_shown_once_used_audited_and_revocable(system):
    admin = system.login("admin")["access_token"]
    made = system.call(
        "POST",
        "/api/v1/admin/api-keys",
        admin,
        json={"name": "12345 热线", "roles": ["department_staff"], "scopes": ["330424"]},
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    who = system.call("GET", "/api/v1/admin/whoami", headers={"X-API-Key": key})
    assert (
        who.status_code == 200
        and who.json()["kind"] == "api_key"
        and who.json()["name"] == "12345 热线"
    )
    listed = system.call("GET", "/api/v1/admin/api-keys", admin).json()
    assert all("key" not in k or k["key"] is None for k in listed)
    kinds = [
        e["kind"] for e in system.call("GET", "/api/v1/admin/audit?kind=key_use", admin).json()
    ]
    assert "key_use" in kinds
    assert (
        system.call("DELETE", f"/api/v1/admin/api-keys/{made.json()['id']}", admin).status_code
        == 204
    )
    assert_error(
        system.call("GET", "/api/v1/admin/whoami", headers={"X-API-Key": key}),
        401,
        "api_key_invalid",
    )
    assert_error(
        system.call("GET", "/api/v1/admin/whoami", headers={"X-API-Key": "lxk_forged"}),
        401,
        "api_key_invalid",
    )


def test_two_logins_at_once_both_work(system):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: system.call(
                    "POST", LOGIN, json={"username": "worker02", "password": system.demo_password}
                ),
                range(4),
            )
        )
    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.json()["refresh_token"] for a in answers}) == 4


def test_echo_write_is_received_once(system):
    token = system.login("worker01")["access_token"]
    client_id = uuid.uuid4().hex
    first = system.call(
        "POST", "/api/v1/echo", token, json={"client_id": client_id, "payload": {"a": 1}}
    )
    again = system.call(
        "POST", "/api/v1/echo", token, json={"client_id": client_id, "payload": {"a": 1}}
    )
    assert first.json()["replay"] is False and again.json()["replay"] is True
    assert first.json()["received_at"] == again.json()["received_at"]
    assert_error(
        system.call(
            "POST", "/api/v1/echo", token, json={"client_id": client_id, "payload": {"a": 2}}
        ),
        409,
        "idempotency_conflict",
    )
