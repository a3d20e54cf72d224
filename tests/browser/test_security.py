"""Issue 7 in the browser: the PWA runs under its Content-Security-Policy without one
violation (§8), no script can read the refresh token (§5), and logout leaves nothing of the
user on the phone (§5)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

L1 = "330424001001-001"
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}`));
"""


def watch_violations(context, page) -> list:
    """CSP violations, as the page's event and as Chromium's console reports them."""
    seen: list = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and seen.append(m.text),
    )
    context.add_init_script(WATCH_CSP)
    return seen


def test_the_app_runs_under_its_policy_without_violations(phone, context, page):
    console = watch_violations(context, page)
    with page.expect_response(lambda r: r.url.rstrip("/") == phone.system.base_url) as shell:
        phone.open("/")
    policy = shell.value.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert shell.value.headers["x-content-type-options"] == "nosniff"
    assert shell.value.headers["referrer-policy"] == "no-referrer"

    phone.login("worker01")
    phone.wait_offline_ready()
    visited = []
    for path, heading in [
        ("/grids", "我的网格"),
        (f"/grids/{L1}", "住户列表"),
        (f"/grids/{L1}/map", "网格地图"),
        ("/sync", "同步状态"),
        ("/points", "我的积分"),
        ("/points/code", "兑换码"),  # a QR code drawn as SVG
    ]:
        page.goto(phone.system.base_url + path)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        if path.endswith("/map"):  # drawn, and coloured through CSSOM
            expect(page.locator("svg.grid-map path.map-child[data-share]").first).to_be_visible()
        page.wait_for_timeout(200)
        visited.append(page.evaluate("window.__csp.slice()"))
    page.goto(phone.system.base_url + f"/grids/{L1}")
    page.get_by_role("list", name="住户").locator("li a").first.click()
    expect(page.get_by_role("heading", name="住户档案")).to_be_visible()
    page.get_by_role("link", name="走访登记").click()
    expect(page.get_by_role("heading", name="走访登记")).to_be_visible()
    visited.append(page.evaluate("window.__csp.slice()"))
    # the API docs page runs its one inline script by hash
    page.goto(phone.system.base_url + "/api/v1/docs")
    expect(page.locator(".op").first).to_be_visible()
    visited.append(page.evaluate("window.__csp.slice()"))
    assert visited == [[]] * len(visited) and console == [], (visited, console)


def test_no_script_can_read_the_refresh_token(phone, context):
    page = phone.login("worker01")
    cookies = {c["name"]: c for c in context.cookies()}
    refresh = cookies["lianxin_refresh"]
    assert refresh["httpOnly"] and refresh["sameSite"] == "Strict"
    assert refresh["path"] == "/api/v1/auth"
    assert refresh["expires"] > 0  # survives the browser closing (14 days)
    assert "lianxin_refresh" not in page.evaluate("document.cookie")
    stored = page.evaluate("JSON.stringify({...localStorage, ...sessionStorage})")
    assert refresh["value"] not in stored
    assert "refresh" not in stored.lower()


def test_logout_leaves_nothing_of_the_user_on_the_phone(phone, context):
    page = phone.login("worker01")
    phone.wait_offline_ready()
    page.goto(phone.system.base_url + f"/grids/{L1}")
    expect(page.get_by_role("list", name="住户").locator("li").first).to_be_visible()
    # a write waiting in the outbox, and cached answers, are there to be forgotten
    page.goto(phone.system.base_url + "/sync")
    context.set_offline(True)
    page.get_by_role("button", name="连接测试").click()
    expect(page.locator("#sync-count")).to_have_text("待发送 1 条")
    context.set_offline(False)
    context.route("**/api/v1/echo", lambda route: route.abort("connectionfailed"))
    page.wait_for_function("async () => (await caches.has('lianxin-api'))")

    page.once("dialog", lambda dialog: dialog.accept())  # 还有 1 条记录待发送…
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    page.wait_for_function(
        """async () => {
            const dbs = await indexedDB.databases();
            const names = await caches.keys();
            return dbs.length === 0 && names.every((n) => n.startsWith('workbox-precache'));
        }"""
    )
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.length") == 0
    assert not [c for c in context.cookies() if c["name"] == "lianxin_refresh"]
    # the app still opens (its own code stays cached) and asks for a login
    page.reload()
    expect(page).to_have_url(re.compile("/login$"))
    expect(page.get_by_label("用户名")).to_have_value("")
