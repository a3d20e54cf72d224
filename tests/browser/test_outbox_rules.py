"""What the outbox does with each kind of answer: back off and retry on a server failure, drop
an entry the server holds under a different body (409 idempotency_conflict) and say so, park
an entry the server refuses for good (other 4xx) for the user to retry or delete."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

ECHO = "**/api/v1/echo"


def open_sync(phone):
    page = phone.login("worker01")
    page.get_by_role("link", name="同步状态").click()
    expect(page.get_by_role("heading", name="同步状态")).to_be_visible()
    return page


def answer(status, error, message):
    body = json.dumps({"error": error, "message": message, "details": None})
    return {"status": status, "headers": {"Content-Type": "application/json"}, "body": body}


def test_a_server_failure_is_retried_with_back_off(phone, context):
    calls = []
    failing = {"on": True}

    def flaky(route):
        calls.append((time.monotonic(), route.request))
        if failing["on"]:
            return route.fulfill(**answer(503, "service_unavailable", "服务暂时不可用"))
        return route.continue_()

    context.route(ECHO, flaky)
    page = open_sync(phone)
    page.get_by_role("button", name="连接测试").click()
    entry = page.get_by_role("list", name="待发送").locator("li[data-client-id]")
    # the server keeps failing until the test has seen what the worker sees meanwhile
    expect(entry).to_contain_text(re.compile(r"已尝试 \d+ 次"))
    expect(entry).to_contain_text("服务暂时不可用")
    expect(page.locator(".sync-state")).to_contain_text("自动重试")
    failing["on"] = False
    # retries back off (2 s, then doubling); the room above that is for a loaded machine
    expect(page.locator(".pending-bar")).to_have_text("全部已发送›", timeout=30000)
    assert len(calls) >= 2
    assert calls[1][0] - calls[0][0] >= 1.5  # the first retry waited (2 s ± 20 %)
    assert len({request.headers["idempotency-key"] for _, request in calls}) == 1


def test_an_idempotency_conflict_is_dropped_and_shown(phone, context):
    context.route(
        ECHO,
        lambda route: route.fulfill(
            **answer(409, "idempotency_conflict", "同一编号的请求内容不一致")
        ),
    )
    page = open_sync(phone)
    page.get_by_role("button", name="连接测试").click()
    expect(page.locator(".toast-error")).to_contain_text("同一编号的请求内容不一致")
    done = page.get_by_role("list", name="最近发送").locator("li[data-client-id]")
    expect(done).to_have_attribute("data-outcome", "conflict")
    expect(done).to_contain_text("冲突")
    expect(page.locator("#sync-count")).to_have_text("待发送 0 条")


def test_a_refused_write_is_parked_for_the_user(phone, context):
    refused = {"on": True}

    def gateway(route):
        if refused["on"]:
            return route.fulfill(**answer(400, "validation_failed", "提交的内容有误"))
        return route.continue_()

    context.route(ECHO, gateway)
    page = open_sync(phone)
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="连接测试").click()
    page.get_by_role("button", name="连接测试").click()
    expect(page.locator(".pending-bar")).to_have_text("发送失败 2 条›")
    failed = page.get_by_role("list", name="待发送").locator("li.entry-failed")
    expect(failed).to_have_count(2)
    expect(failed.first).to_contain_text("提交的内容有误")

    refused["on"] = False
    failed.first.get_by_role("button", name="重试").click()
    expect(failed).to_have_count(1)
    # The retried entry leaves the failed list as soon as it is queued again: wait until the
    # server has it, so the deletion below is the newest thing done.
    sent = page.get_by_role("list", name="最近发送").locator('li[data-outcome="sent"]')
    expect(sent).to_have_count(1)
    failed.first.get_by_role("button", name="删除").click()
    expect(page.locator(".pending-bar")).to_have_text("全部已发送›")
    done = page.get_by_role("list", name="最近发送").locator("li[data-client-id]")
    expect(done.nth(0)).to_have_attribute("data-outcome", "discarded")
    expect(done.nth(1)).to_have_attribute("data-outcome", "sent")
