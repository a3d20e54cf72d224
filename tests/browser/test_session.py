"""Tokens: the access token is refreshed once when it expires; logout ends the session."""

from __future__ import annotations

import time

import jwt
import requests
from playwright.sync_api import expect

REFRESH_COOKIE = "lianxin_refresh"


def refresh_cookie(context) -> str | None:
    """The refresh token: an HttpOnly cookie the page's scripts cannot read (issue 7 §5)."""
    found = [c for c in context.cookies() if c["name"] == REFRESH_COOKIE]
    return found[0]["value"] if found else None


def expired_copy(system, access_token: str) -> str:
    """The same access token, signed again with an expiry in the past."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 60
    claims["iat"] = claims["nbf"] = int(time.time()) - 960
    return jwt.encode(claims, system.jwt_secret, algorithm="HS256")


def test_an_expired_access_token_is_refreshed_once_for_concurrent_calls(phone, context):
    page = phone.login("worker01")
    phone.wait_offline_ready()
    page.get_by_role("link", name="同步状态").click()
    # Leave one write waiting (its first send fails), so start-up makes two calls at once:
    # GET /auth/me and the outbox replay, both with the expired token.
    context.route("**/api/v1/echo", lambda route: route.abort("connectionfailed"))
    page.get_by_role("button", name="连接测试").click()
    expect(page.get_by_role("list", name="待发送").locator("li[data-client-id]")).to_contain_text(
        "已尝试 1 次"
    )
    context.unroute("**/api/v1/echo")
    old_refresh = refresh_cookie(context)
    assert old_refresh and phone.storage("localStorage", "lianxin.refresh_token") is None
    stale = expired_copy(phone.system, phone.storage("sessionStorage", "lianxin.access_token"))
    page.evaluate("t => sessionStorage.setItem('lianxin.access_token', t)", stale)

    refreshes, expired = [], []
    context.on("request", lambda r: r.url.endswith("/api/v1/auth/refresh") and refreshes.append(r))
    context.on("response", lambda r: r.status == 401 and expired.append(r.url))
    page.reload()
    expect(page.locator(".pending-bar")).to_have_text("全部已发送›", timeout=15_000)
    expect(page.get_by_role("heading", name="同步状态")).to_be_visible()
    page.wait_for_timeout(1000)
    assert sorted(url.rsplit("/api/v1", 1)[1] for url in expired) == ["/auth/me", "/echo"]
    assert len(refreshes) == 1
    new_refresh = refresh_cookie(context)
    assert new_refresh and new_refresh != old_refresh
    assert phone.storage("sessionStorage", "lianxin.access_token") != stale
    # The rotation was clean: the new refresh token still works (no reuse was detected).
    check = requests.post(
        phone.system.url("/api/v1/auth/refresh"),
        headers={"Authorization": f"Bearer {new_refresh}"},
        timeout=10,
    )
    assert check.status_code == 200, check.text


def test_logout_returns_to_login_and_the_refresh_token_is_dead(phone, context):
    page = phone.login("worker01")
    refresh_token = refresh_cookie(context)
    assert refresh_token
    with page.expect_response("**/api/v1/auth/logout") as answer:
        page.get_by_role("button", name="退出登录").click()
    assert answer.value.status == 204
    expect(page).to_have_url(phone.system.base_url + "/login")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    assert phone.storage("localStorage", "lianxin.refresh_token") is None
    assert phone.storage("localStorage", "lianxin.user") is None
    assert refresh_cookie(context) is None  # the server cleared it

    after = requests.post(
        phone.system.url("/api/v1/auth/refresh"),
        headers={"Authorization": f"Bearer {refresh_token}"},
        timeout=10,
    )
    assert after.status_code == 401
    assert after.json()["error"] in {"token_revoked", "refresh_reused", "token_expired"}

    # Reloading does not bring the session back.
    page.reload()
    expect(page).to_have_url(phone.system.base_url + "/login")
