"""The write outbox: a write made offline waits, is shown as 待发送, and reaches the server
exactly once when the network returns — on `online`, through Background Sync, at start-up."""

from __future__ import annotations

import re
import time

from playwright.sync_api import BrowserContext, Page, expect

ECHO = "/api/v1/echo"


def echo_answers(context: BrowserContext) -> list:
    """Every answer to POST /api/v1/echo in this context (pages and service worker)."""
    answers = []
    context.on(
        "response",
        lambda r: r.request.method == "POST" and r.url.endswith(ECHO) and answers.append(r),
    )
    return answers


def queue_offline_write(phone, context: BrowserContext) -> tuple[Page, str]:
    page = phone.login("worker01")
    phone.wait_offline_ready()
    page.get_by_role("link", name="同步状态").click()
    expect(page.get_by_role("heading", name="同步状态")).to_be_visible()
    context.set_offline(True)
    page.get_by_role("button", name="连接测试").click()
    expect(page.locator(".pending-bar")).to_have_text("待发送 1 条›")
    expect(page.locator("#sync-count")).to_have_text("待发送 1 条")
    entry = page.get_by_role("list", name="待发送").locator("li[data-client-id]")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("连接测试")
    return page, entry.get_attribute("data-client-id")


def assert_delivered_once(phone, page: Page, answers: list, client_id: str) -> None:
    expect(page.locator(".pending-bar")).to_have_text("全部已发送›", timeout=15_000)
    done = page.get_by_role("list", name="最近发送").locator(f'li[data-client-id="{client_id}"]')
    expect(done).to_have_attribute("data-outcome", "sent")
    expect(done).to_have_attribute("data-replay", "false")
    page.wait_for_timeout(500)  # anything sent twice would show up by now
    assert len(answers) == 1, [a.url for a in answers]
    first = answers[0]
    assert first.status == 200
    assert first.json()["client_id"] == client_id
    assert first.json()["replay"] is False
    request = first.request
    assert request.headers["idempotency-key"] == client_id
    assert request.post_data_json["client_id"] == client_id
    # The server holds it: sending the same client id again is answered as a replay.
    token = phone.system.login("worker01")["access_token"]
    again = phone.system.call(
        "POST", ECHO, token, json=request.post_data_json, headers={"Idempotency-Key": client_id}
    )
    assert again.status_code == 200, again.text
    assert again.json()["replay"] is True


def test_offline_write_is_sent_once_when_the_network_returns(phone, context):
    answers = echo_answers(context)
    page, client_id = queue_offline_write(phone, context)
    page.wait_for_timeout(500)
    assert answers == []
    context.set_offline(False)
    assert_delivered_once(phone, page, answers, client_id)


def test_background_sync_replays_when_the_page_misses_the_online_event(phone, context):
    # Swallow the page's `online` event, so only the service worker's sync event can replay.
    context.add_init_script(
        "window.addEventListener('online', e => e.stopImmediatePropagation(), true);"
    )
    answers = echo_answers(context)
    page, client_id = queue_offline_write(phone, context)
    page.wait_for_timeout(500)
    assert answers == []
    context.set_offline(False)
    assert_delivered_once(phone, page, answers, client_id)
    # The app never heard `online` (its offline banner is still up): the sync event did it.
    expect(page.locator(".offline-banner")).to_have_text(re.compile("^当前离线"))


def test_offline_write_is_sent_at_start_up(phone, context):
    answers = echo_answers(context)
    page, client_id = queue_offline_write(phone, context)
    page.close()  # the app is closed while offline; nothing is left that could send
    context.set_offline(False)
    time.sleep(1)
    assert answers == []

    # A new tab: only the refresh token survives, so this also refreshes the session first.
    page = context.new_page()
    page.goto(phone.system.base_url + "/sync")
    phone.page = page
    expect(page.get_by_role("heading", name="同步状态")).to_be_visible()
    assert_delivered_once(phone, page, answers, client_id)


def test_writes_are_sent_in_the_order_they_were_made(phone, context):
    answers = echo_answers(context)
    page, first = queue_offline_write(phone, context)
    page.get_by_role("button", name="连接测试").click()
    page.get_by_role("button", name="连接测试").click()
    expect(page.locator("#sync-count")).to_have_text("待发送 3 条")
    queued = page.get_by_role("list", name="待发送").locator("li[data-client-id]")
    order = [queued.nth(i).get_attribute("data-client-id") for i in range(3)]
    assert order[0] == first
    context.set_offline(False)
    expect(page.locator(".pending-bar")).to_have_text("全部已发送›", timeout=15_000)
    page.wait_for_timeout(500)
    assert [a.json()["client_id"] for a in answers] == order
    assert all(a.json()["replay"] is False for a in answers)


def test_a_revoked_session_stops_the_replay_and_asks_for_login(phone, context):
    answers = echo_answers(context)
    page, client_id = queue_offline_write(phone, context)
    # The session is ended elsewhere (e.g. an administrator, or logout on another phone).
    token = phone.storage("sessionStorage", "lianxin.access_token")
    assert phone.system.call("POST", "/api/v1/auth/logout", token).status_code == 204

    context.set_offline(False)
    expect(page).to_have_url(phone.system.base_url + "/login")
    expect(page.get_by_text("登录已过期，请重新登录")).to_be_visible()
    expect(page.get_by_label("用户名")).to_have_value("worker01")
    assert [a.status for a in answers] == [401]

    # The write was kept, and goes out once the same user logs in again.
    page.get_by_label("密码", exact=True).fill(phone.system.demo_password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="网格工作台")).to_be_visible()
    expect(page.locator(".pending-bar")).to_have_text("全部已发送›", timeout=15_000)
    page.wait_for_timeout(500)
    sent = [a for a in answers if a.status == 200]
    assert len(sent) == 1
    assert sent[0].json() | {"client_id": client_id, "replay": False} == sent[0].json()
