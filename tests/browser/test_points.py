"""The points mall in the phone's browser: the worker's redemption code shows with no
network (the pack was fetched earlier and kept on the phone); the cashier's till says
plainly that redeeming needs the network and lets nothing through offline; online, the
cashier types the code, builds a basket, confirms, and gets the receipt."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, Phone


def test_a_code_shown_offline_is_redeemed_at_an_online_till(phone, browser, context):
    worker = phone.login("worker01")
    phone.wait_offline_ready()
    worker.get_by_role("link", name=re.compile("我的积分")).click()
    expect(worker.get_by_test_id("available")).to_have_text(re.compile(r"^\d+$"))
    available = int(worker.get_by_test_id("available").inner_text())
    worker.get_by_role("link", name="出示兑换码").click()
    expect(worker.get_by_test_id("short-code")).to_be_visible()

    context.set_offline(True)
    worker.reload()
    expect(worker.get_by_text("当前离线：兑换码已保存在本机")).to_be_visible()
    expect(worker.locator(".points-qr svg")).to_be_visible()
    code = worker.get_by_test_id("short-code").inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{8}", code)

    till_context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        till = Phone(phone.system, till_context.new_page())
        page = till.login("merchant01")
        page.get_by_role("link", name=re.compile("扫码兑换")).click()
        expect(page.get_by_text("当前超市：")).to_be_visible()
        till_context.set_offline(True)
        expect(page.get_by_text("当前没有网络，无法兑换")).to_be_visible()
        expect(page.get_by_role("button", name="查询")).to_be_disabled()
        expect(page.get_by_role("button", name="扫码")).to_be_disabled()
        till_context.set_offline(False)
        expect(page.get_by_role("button", name="查询")).to_be_enabled()

        page.get_by_placeholder("8 位兑换码").fill(code)
        page.get_by_role("button", name="查询").click()
        expect(page.get_by_test_id("till-available")).to_have_text(str(available))
        towel = page.locator(".till-item", has_text="毛巾")
        towel.get_by_role("button", name="增加毛巾").click()
        page.get_by_role("button", name="确认兑换").click()
        expect(page.get_by_role("heading", name="兑换成功")).to_be_visible()
        expect(page.get_by_test_id("receipt-total")).to_have_text("8 分")
    finally:
        till_context.close()
