"""The PWA's refresh token lives in an HttpOnly, SameSite=Strict cookie for /api/v1/auth only
(issue 7 §5); other clients keep getting it in the body and presenting it as a header."""

from __future__ import annotations

from http.cookies import SimpleCookie

import jwt

from gateway.tests.conftest import SECRET

SESSION = {
    "user": {"id": "u-1", "username": "li", "display_name": "李", "roles": [], "scopes": []},
    "family": "fam-1",
    "jti": "j1",
}
COOKIE = "lianxin_refresh"


def set_cookie(answer) -> dict:
    """The attributes of the refresh cookie the answer sets ({} when it sets none)."""
    for header in answer.headers.getlist("Set-Cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        if COOKIE in parsed:
            morsel = parsed[COOKIE]
            attrs = {k.lower(): v for k, v in morsel.items() if v}
            lowered = header.lower()
            attrs["httponly"] = "httponly" in lowered
            attrs["secure"] = "secure" in lowered
            return {"value": morsel.value, **attrs}
    return {}


def browser_login(client, **kwargs):
    return client.post(
        "/api/v1/auth/login",
        json={"username": "li", "password": "pw", "refresh_cookie": True},
        **kwargs,
    )


def test_a_browser_login_gets_the_refresh_token_as_a_cookie_only(client, rpc):
    rpc.answer("identity", "login", SESSION)
    answer = browser_login(client)
    assert answer.status_code == 200
    assert "refresh_token" not in answer.json and answer.json["access_token"]
    cookie = set_cookie(answer)
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    assert int(cookie["max-age"]) == 14 * 24 * 3600
    assert not cookie["secure"]  # plain http (127.0.0.1 in development)
    claims = jwt.decode(cookie["value"], SECRET, algorithms=["HS256"])
    assert claims["type"] == "refresh" and claims["fam"] == "fam-1"


def test_over_https_the_cookie_is_secure(client, rpc):
    rpc.answer("identity", "login", SESSION)
    answer = browser_login(client, base_url="https://lianxin.example")
    assert set_cookie(answer)["secure"]


def test_other_clients_get_it_in_the_body_and_no_cookie(client, rpc):
    rpc.answer("identity", "login", SESSION)
    answer = client.post("/api/v1/auth/login", json={"username": "li", "password": "pw"})
    assert answer.json["refresh_token"] and set_cookie(answer) == {}


def test_refresh_answers_the_way_the_token_came(client, rpc):
    rpc.answer("identity", "login", SESSION)
    rpc.answer("identity", "refresh", {**SESSION, "jti": "j2"})
    first = set_cookie(browser_login(client))
    # the test client keeps the cookie and sends it to /api/v1/auth/... only
    by_cookie = client.post("/api/v1/auth/refresh")
    assert by_cookie.status_code == 200, by_cookie.json
    assert "refresh_token" not in by_cookie.json
    assert rpc.last("identity", "refresh").args[:2] == ("fam-1", "j1")
    second = set_cookie(by_cookie)
    assert second["value"] != first["value"] and second["httponly"]

    client.delete_cookie(COOKIE, path="/api/v1/auth")
    header = {"Authorization": f"Bearer {second['value']}"}
    by_header = client.post("/api/v1/auth/refresh", headers=header)
    assert by_header.json["refresh_token"] and set_cookie(by_header) == {}


def test_no_cookie_and_no_header_is_401(client):
    answer = client.post("/api/v1/auth/refresh")
    assert answer.status_code == 401 and answer.json["error"] == "unauthorized"


def test_the_cookie_is_not_an_access_token(client, rpc):
    rpc.answer("identity", "login", SESSION)
    browser_login(client)
    answer = client.get("/api/v1/admin/whoami")  # the cookie is not even sent outside /auth
    assert answer.status_code == 401
    rpc.answer("identity", "me", SESSION["user"])
    assert client.get("/api/v1/auth/me").status_code == 401  # sent here, but not accepted


def test_logout_by_cookie_ends_the_family_and_clears_the_cookie(client, rpc):
    rpc.answer("identity", "login", SESSION)
    rpc.answer("identity", "logout", None)
    browser_login(client)
    answer = client.post("/api/v1/auth/logout")
    assert answer.status_code == 204
    assert rpc.last("identity", "logout").args[0] == "fam-1"
    cleared = set_cookie(answer)
    assert cleared["value"] == "" and cleared["path"] == "/api/v1/auth"
    assert client.get_cookie(COOKIE, path="/api/v1/auth") is None


def test_a_retried_refresh_answers_the_same_session_the_same_way(client, rpc):
    # identity answers a retry of the token just spent (its answer was lost) with the same
    # successor: both answers set the same cookie for the same session
    rpc.answer("identity", "login", SESSION)
    rpc.answer("identity", "refresh", {**SESSION, "jti": "j2"})
    old = set_cookie(browser_login(client))["value"]
    cookies = []
    for _ in range(2):
        client.set_cookie(COOKIE, old, path="/api/v1/auth")  # the phone still holds j1
        answer = client.post("/api/v1/auth/refresh")
        assert answer.status_code == 200 and "refresh_token" not in answer.json
        cookies.append(set_cookie(answer))
    assert [c["path"] for c in cookies] == ["/api/v1/auth"] * 2
    assert all(c["httponly"] and c["samesite"] == "Strict" for c in cookies)
    claims = [jwt.decode(c["value"], SECRET, algorithms=["HS256"]) for c in cookies]
    assert [(c["fam"], c["rjti"]) for c in claims] == [("fam-1", "j2")] * 2
    sent = [call.args[:2] for call in rpc.calls if call.method == "refresh"]
    assert sent == [("fam-1", "j1")] * 2
