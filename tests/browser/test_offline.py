"""With no network the app still opens, says who is logged in and that it is offline."""

from __future__ import annotations

from playwright.sync_api import expect


def test_offline_reload_shows_the_shell_the_user_and_the_banner(phone, context):
    user = phone.system.login("worker01")["user"]
    page = phone.login("worker01")
    phone.wait_offline_ready()
    banner = page.get_by_role("status").filter(has_text="当前离线")
    expect(banner).to_be_hidden()

    context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="网格工作台")).to_be_visible()
    expect(page.locator(".whoami-name")).to_have_text(user["display_name"])
    expect(page.locator(".whoami-role")).to_have_text("网格员")
    expect(banner).to_be_visible()

    # A client-side route opens offline too (the service worker answers with the shell).
    page.goto(phone.system.base_url + "/sync")
    expect(page.get_by_role("heading", name="同步状态")).to_be_visible()
    expect(banner).to_be_visible()

    context.set_offline(False)
    expect(banner).to_be_hidden()
    expect(page.locator(".whoami-name")).to_have_text(user["display_name"])
