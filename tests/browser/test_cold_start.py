"""Offline survives a cold start (issue 8, "Offline must survive a cold start"): after one
online session, the browser is closed (as Android kills an app) and opened again with no
network. The app must not try to renew the login before reading from the device: every
stored screen shows its data, and a write can be queued; it goes out once the network is
back (the renewal waits for the network)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import CHROMIUM, LAUNCH_ARGS, PHONE

L1 = "330424001001-001"  # worker01's level-1 grid in the demo data
NOT_STORED = "本机还没有保存这部分内容"


def launch(browser: Browser, profile, offline: bool) -> BrowserContext:
    """The same phone (one profile folder on disk), started anew."""
    context = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=LAUNCH_ARGS,
        viewport=PHONE,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="allow",
        offline=offline,
    )
    if offline:
        # Offline emulation can reach a service worker restarted from disk a moment late:
        # make sure no API request gets out meanwhile, as on a phone with no network.
        context.set_offline(True)
        context.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    context.set_default_timeout(10_000)
    return context


def test_a_cold_start_offline_reads_the_device_and_queues_writes(app, browser, tmp_path):
    base = app.base_url
    profile = tmp_path / "phone"

    # One online session: log in, open the screens a worker uses in the field.
    online = launch(browser, profile, offline=False)
    try:
        page = online.pages[0] if online.pages else online.new_page()
        page.goto(base + "/login")
        page.get_by_label("用户名").fill("worker01")
        page.get_by_label("密码", exact=True).fill(app.demo_password)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible()
        page.wait_for_function(
            "async () => { const r = await navigator.serviceWorker.ready;"
            " return !!(r.active && navigator.serviceWorker.controller); }"
        )
        page.goto(base + "/grids")
        expect(page.locator(f'.grid-card[data-code="{L1}"]')).to_be_visible()
        page.goto(base + f"/grids/{L1}")
        rows = page.get_by_role("list", name="住户").locator("li")
        expect(rows.first).to_be_visible()
        label = rows.first.locator(".row-title").inner_text()
        rows.first.locator("a").click()
        expect(page.locator(".household-address")).to_have_text(label)
        household_url = page.url
        page.goto(base + "/sync")
        expect(page.get_by_role("heading", name="同步状态")).to_be_visible()
    finally:
        online.close()  # the app is killed: memory and sessionStorage are gone

    # A cold start with no network.
    phone = launch(browser, profile, offline=True)
    try:
        renewals = []
        phone.on("request", lambda r: "/api/v1/auth/refresh" in r.url and renewals.append(r))
        page = phone.pages[0] if phone.pages else phone.new_page()
        page.goto(base + "/")
        expect(page.get_by_role("heading", name="网格工作台")).to_be_visible()
        expect(page.locator(".offline-banner")).to_be_visible()

        page.goto(base + "/grids")
        expect(page.locator(f'.grid-card[data-code="{L1}"]')).to_be_visible()
        page.goto(base + f"/grids/{L1}")
        expect(page.get_by_role("list", name="住户").locator("li").first).to_be_visible()
        page.goto(household_url)
        expect(page.locator(".household-address")).to_have_text(label)
        expect(page.get_by_text(NOT_STORED)).to_have_count(0)
        assert renewals == []  # nothing waited for a renewal that could not happen

        # A write is queued, and leaves once, when the network is back.
        answers = []
        phone.on(
            "response",
            lambda r: (
                r.request.method == "POST" and r.url.endswith("/api/v1/echo") and answers.append(r)
            ),
        )
        page.goto(base + "/sync")
        page.get_by_role("button", name="连接测试").click()
        expect(page.locator("#sync-count")).to_have_text("待发送 1 条")
        client_id = (
            page.get_by_role("list", name="待发送")
            .locator("li[data-client-id]")
            .get_attribute("data-client-id")
        )
        phone.unroute("**/api/**")
        phone.set_offline(False)
        expect(page.locator(".pending-bar")).to_have_text(re.compile("全部已发送"), timeout=15_000)
        page.wait_for_timeout(500)
        assert [a.status for a in answers] == [200]
        assert answers[0].json()["client_id"] == client_id
        assert len(renewals) == 1  # the renewal came with the network, through the cookie
    finally:
        phone.close()
