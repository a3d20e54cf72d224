"""登录 and the home screen each kind of user lands on."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_wrong_password_shows_the_chinese_message_from_the_api(phone):
    page = phone.open("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("用户名").fill("resident01")
    page.get_by_label("密码", exact=True).fill("not-the-password")
    with page.expect_response("**/api/v1/auth/login") as answer:
        page.get_by_role("button", name="登录", exact=True).click()
    body = answer.value.json()
    assert answer.value.status == 401
    assert body["error"] == "invalid_credentials"
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(body["message"])
    assert CHINESE.search(body["message"])
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_enabled()
    expect(page.get_by_label("用户名")).to_have_value("resident01")


def test_empty_fields_are_named_before_anything_is_sent(phone):
    page = phone.open("/login")
    sent = []
    page.on("request", lambda r: "/api/v1/auth/login" in r.url and sent.append(r))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_text("请输入用户名")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_focused()
    assert sent == []


def test_two_quick_taps_log_in_once(phone):
    page = phone.open("/login")
    logins = []
    page.on("request", lambda r: "/api/v1/auth/login" in r.url and logins.append(r))
    page.get_by_label("用户名").fill("leader01")
    page.get_by_label("密码", exact=True).fill(phone.system.demo_password)
    # Two submits in the same task, as a double tap on a slow phone delivers them.
    page.evaluate(
        "() => { const f = document.querySelector('form'); f.requestSubmit(); f.requestSubmit(); }"
    )
    expect(page.get_by_role("heading", name="网格工作台")).to_be_visible()
    assert len(logins) == 1


def test_a_locked_account_counts_down_the_wait(phone):
    page = phone.open("/login")
    # The real lock-out needs several wrong passwords on a demo account, which would lock it for
    # the other tests; the gateway's answer is reproduced here exactly as its contract states.
    page.route(
        "**/api/v1/auth/login",
        lambda route: route.fulfill(
            status=429,
            headers={"Content-Type": "application/json", "Retry-After": "3"},
            body=json.dumps(
                {
                    "error": "account_locked",
                    "message": "密码错误次数过多，账号已临时锁定",
                    "details": {"retry_after": 3},
                }
            ),
        ),
    )
    page.get_by_label("用户名").fill("worker01")
    page.get_by_label("密码", exact=True).fill("whatever")
    page.get_by_role("button", name="登录", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("密码错误次数过多，账号已临时锁定")
    expect(alert).to_contain_text(re.compile(r"请等待 [123] 秒后再试"))
    expect(page.locator("button[type=submit]")).to_be_disabled()
    expect(alert).to_contain_text("现在可以重新登录", timeout=6000)
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_enabled()


HOMES = [
    ("worker01", "网格工作台", "网格员"),
    ("leader01", "网格工作台", "网格长"),
    ("instructor01", "网格工作台", "网格指导员"),
    ("merchant01", "积分兑换", "超市收银员"),
    ("resident01", "居民服务", "居民"),
    ("admin", "管理概览", "平台运维"),
    ("county", "管理概览", "县级管理员"),
]


@pytest.mark.parametrize(("username", "home", "role"), HOMES)
def test_each_role_lands_on_its_home_and_sees_who_is_logged_in(phone, username, home, role):
    user = phone.system.login(username)["user"]
    page = phone.login(username)
    expect(page).to_have_url(phone.system.base_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(home)
    expect(page.locator(".whoami-name")).to_have_text(user["display_name"])
    expect(page.locator(".whoami-role")).to_contain_text(role)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    # Features later issues build are shown honestly, not as dead buttons.
    expect(page.get_by_text("即将上线").first).to_be_visible()


def test_merchant_gets_the_cashier_home(phone):
    page = phone.login("merchant01")
    expect(page.get_by_role("heading", name="积分兑换")).to_be_visible()
    expect(page.get_by_text("扫码兑换")).to_be_visible()
    expect(page.get_by_text("入户走访")).to_have_count(0)


def test_tap_targets_are_at_least_44px(phone):
    page = phone.login("worker01")
    small = page.evaluate(
        """() => [...document.querySelectorAll('a, button, input')]
            .filter(el => el.offsetParent !== null)
            .map(el => [el.textContent.trim() || el.name, el.getBoundingClientRect()])
            .filter(([, box]) => box.height < 44 || box.width < 44)
            .map(([name, box]) => `${name}: ${box.width}x${box.height}`)"""
    )
    assert small == []
