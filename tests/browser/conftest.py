"""Headless Chromium (Debian's, driven by Playwright) against the whole system: the `system`
fixture from tests/conftest.py serves the built PWA and the API on one origin."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 640}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def pwa_dist() -> Path:
    """The built PWA; `make pwa` rebuilds it only when its sources changed."""
    subprocess.run(["make", "-s", "pwa"], cwd=ROOT, check=True)
    return ROOT / "pwa" / "dist"


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make chromium`")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def app(system, pwa_dist):
    """The system under test, with the PWA built."""
    return system


@pytest.fixture
def context(browser: Browser, request) -> BrowserContext:
    ctx = browser.new_context(
        viewport=PHONE,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        service_workers="allow",
    )
    ctx.set_default_timeout(10_000)
    yield ctx
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        RESULTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        for number, open_page in enumerate(ctx.pages):
            # A page that is closing gives no picture; keep the real failure.
            with contextlib.suppress(Exception):
                open_page.screenshot(path=str(RESULTS / f"{name}-{number}.png"), full_page=True)
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def phone(app, page):
    """Helpers that drive the PWA as a user would."""
    return Phone(app, page)


class Phone:
    def __init__(self, system, page: Page):
        self.system = system
        self.page = page

    def open(self, path: str = "/") -> Page:
        self.page.goto(self.system.base_url + path)
        return self.page

    def login(self, username: str, password: str | None = None) -> Page:
        page = self.open("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码", exact=True).fill(password or self.system.demo_password)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible()
        return page

    def wait_offline_ready(self) -> None:
        """The service worker is active, controls the page and has the app shell precached."""
        self.page.wait_for_function(
            "async () => { const r = await navigator.serviceWorker.ready;"
            " return !!(r.active && navigator.serviceWorker.controller); }"
        )

    def storage(self, kind: str, key: str) -> str | None:
        return self.page.evaluate(f"key => {kind}.getItem(key)", key)
