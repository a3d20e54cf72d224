"""Notifications in the phone's browser: a case dispatched onto the bus (as the cases service
publishes it) pops up as a toast on the open app and raises the unread badge; the inbox
shows it and opening it reads it; a community's notice is previewed (the server's count),
published, followed to 已送达, read by the resident, and the sender's receipt shows the read;
settings are saved; and none of these screens breaks the Content-Security-Policy."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests import producers
from tests.browser.conftest import PHONE, Phone
from tests.browser.test_security import watch_violations


def dispatch(system, user_id: str, title: str) -> None:
    number = f"AJ-B-{uuid.uuid4().hex[:6]}"
    payload = producers.dispatched(user_id, number, "330424001001-001-01-01", title)
    producers.case_publisher(system.amqp_uri)(payload)


def test_a_dispatch_toasts_on_the_open_app_and_waits_in_the_inbox(phone, context, page):
    console = watch_violations(context, page)
    # a worker of its own: the cases service dispatches the demo's cases to worker01, and a
    # second dispatch within a minute would be digested rather than toasted
    name, me = phone.system.new_user(roles=("grid_worker",), scopes=("330424001001",))
    phone.login(name, "pass-word-1")
    badge = page.get_by_test_id("unread-badge")
    page.wait_for_function("() => document.querySelector('[data-testid=unread-badge]') !== null")
    page.wait_for_timeout(1500)  # the stream opens after the first summary
    before = int(badge.inner_text() or 0) if badge.is_visible() else 0
    title = f"井盖松动 {uuid.uuid4().hex[:4]}"
    dispatch(phone.system, me, title)
    expect(page.locator(".toast").filter(has_text=title)).to_be_visible(timeout=15_000)
    expect(badge).to_have_text(str(before + 1))

    page.locator(".appbar-bell").click()
    expect(page.get_by_role("heading", name="消息中心")).to_be_visible()
    item = page.locator(".message").filter(has_text=title)
    expect(item).to_have_class(re.compile("message-unread"))
    item.get_by_role("button").click()
    expect(item).not_to_have_class(re.compile("message-unread"))
    expect(badge).to_have_text(str(before)) if before else expect(badge).to_be_hidden()

    page.get_by_role("link", name="通知设置").click()
    expect(page.get_by_role("heading", name="通知设置")).to_be_visible()
    page.get_by_label("开启免打扰（紧急消息仍会提醒）").check()
    page.locator("fieldset[data-kind=case_dispatched] input[name='case_dispatched:push']").uncheck()
    page.get_by_role("button", name="保存设置").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    page.reload()
    expect(page.get_by_label("开启免打扰（紧急消息仍会提醒）")).to_be_checked()
    expect(page.locator("input[name='case_dispatched:push']")).not_to_be_checked()
    assert page.evaluate("window.__csp.slice()") == [] and console == []


def test_a_notice_is_previewed_published_and_read_with_a_receipt(phone, browser, context, page):
    console = watch_violations(context, page)
    phone.login("community01")
    page.get_by_role("link", name=re.compile("发布通知")).click()
    page.get_by_role("link", name="发布新通知").click()
    expect(page.get_by_role("heading", name="发布通知")).to_be_visible()
    reach = page.get_by_test_id("reach")
    expect(reach).to_have_text(re.compile(r"将通知 \d+ 人（居民 \d+）.*海兴社区"))
    page.get_by_label("通知对象").select_option("posts")
    expect(reach).to_have_text(re.compile(r"将通知 \d+ 人（专职网格员 \d+）"))
    page.get_by_label("通知对象").select_option("grid")
    page.get_by_role("button", name="发布通知").click()
    expect(page.get_by_text("请填写标题和正文")).to_be_visible()
    title = f"停水通知 {uuid.uuid4().hex[:4]}"
    page.get_by_label("标题").fill(title)
    page.get_by_label("正文").fill("明天上午停水，请提前储水。")
    page.get_by_role("button", name="发布通知").click()
    expect(page.get_by_role("heading", name="通知回执")).to_be_visible()
    expect(page.get_by_text("已送达")).to_be_visible(timeout=20_000)
    expect(page.get_by_test_id("read")).to_have_text("已读 0 人")
    expect(page.get_by_role("list", name="尚未阅读")).to_contain_text("居民 张阿姨")

    resident_context = browser.new_context(
        viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    try:
        resident = Phone(phone.system, resident_context.new_page())
        home = resident.login("resident01")
        home.get_by_role("link", name=re.compile("社区公告")).click()
        notice = home.locator(".message").filter(has_text=title)
        expect(notice).to_have_class(re.compile("message-unread"))
        notice.get_by_role("button").click()
        expect(notice).not_to_have_class(re.compile("message-unread"))
    finally:
        resident_context.close()
    page.reload()
    expect(page.get_by_test_id("read")).to_have_text("已读 1 人", timeout=10_000)
    assert page.evaluate("window.__csp.slice()") == [] and console == []
