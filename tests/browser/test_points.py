"""The points mall in the phone's browser: the worker's redemption code shows with no
network (the pack was fetched earlier and kept on the phone); the cashier's till says
plainly that redeeming needs the network and lets nothing through offline; online, the
cashier types the code, builds a basket, confirms, and gets the receipt. A grid leader's
award above the village threshold waits for a second person; the annual assessment shows
points by category."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

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


def test_an_award_over_the_threshold_moves_points_once_a_second_person_approves(
    phone, browser, context
):
    """leader01 asks for 60 points for worker01 (the demo village's threshold is 50): it
    waits; leader01 may not approve it (the screen says so); community01 approves it on
    their phone and worker01's balance grows by 60."""
    reason = f"深夜协助转移独居老人 {uuid.uuid4().hex[:6]}"
    others: list = []

    def phone_of(username: str) -> Page:
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
        ctx.set_default_timeout(15_000)
        others.append(ctx)
        return Phone(phone.system, ctx.new_page()).login(username)

    try:
        worker = phone_of("worker01")
        worker.get_by_role("link", name=re.compile("我的积分")).click()
        expect(worker.get_by_test_id("available")).to_have_text(re.compile(r"^\d+$"))
        before = int(worker.get_by_test_id("available").inner_text())
        name = worker.locator(".whoami-name").inner_text()

        leader = phone.login("leader01")
        leader.get_by_role("link", name=re.compile("人工奖扣")).click()
        option = leader.locator("#manual-worker option").filter(
            has_text=re.compile(rf"^{re.escape(name)}( ·|$)")
        )
        leader.get_by_label("人员", exact=True).select_option(label=option.inner_text())
        leader.get_by_label("积分", exact=True).fill("60")
        leader.get_by_label("服务类别").select_option(label="矛盾纠纷劝调")
        leader.get_by_label("理由").fill(reason)
        leader.get_by_role("button", name="提交").click()
        mine = (
            leader.get_by_role("list", name="我提交的奖扣")
            .get_by_role("listitem")
            .filter(has_text=reason)
        )
        expect(mine.get_by_test_id("manual-state")).to_have_text("待审批")
        expect(mine).to_contain_text("超过 50 分，等待他人审批")

        leader.goto(phone.system.base_url + "/points/approvals")
        own = leader.get_by_test_id("manual-request").filter(has_text=reason)
        expect(own).to_contain_text("这是您本人提交的申请，不能自己审批")
        expect(own.get_by_role("button", name="批准")).to_have_count(0)

        approver = phone_of("community01")
        approver.get_by_role("link", name=re.compile("积分审批")).click()
        card = approver.get_by_test_id("manual-request").filter(has_text=reason)
        expect(card).to_contain_text("+60 分")
        expect(card).to_contain_text(name)
        card.get_by_label("审批意见").fill("情况属实")
        card.get_by_role("button", name="批准").click()
        expect(approver.get_by_text(re.compile("已批准：.*\\+60 分 已生效"))).to_be_visible()
        expect(approver.get_by_test_id("manual-request").filter(has_text=reason)).to_have_count(0)

        worker.reload()
        expect(worker.get_by_test_id("available")).to_have_text(str(before + 60))
        expect(worker.get_by_role("list", name="积分明细")).to_contain_text(reason)

        leader.goto(phone.system.base_url + "/points/manual")
        expect(mine.get_by_test_id("manual-state")).to_have_text("已生效")
    finally:
        for ctx in others:
            ctx.close()


def test_the_annual_assessment_shows_points_by_category(phone):
    page = phone.login("leader01")
    page.get_by_role("link", name=re.compile("年度考核")).click()
    table = page.get_by_role("table", name="年度考核积分")
    expect(table.get_by_role("row")).not_to_have_count(1)  # the demo's hand-given awards
    expect(table.get_by_role("columnheader", name="组织生活参与")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile(r"组织生活参与 \d+ 分"))).to_be_visible()
