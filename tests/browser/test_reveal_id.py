"""查看完整号码 (issue 7 §2): a full ID number only on demand, after the reason is given, for
the roles that may; the reveal is in the audit with that reason. 360×640 screenshot in
test-results/browser/."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import RESULTS
from tests.e2e.test_grid_api import id_number

MICRO = "330424001001-001-01-01"  # worker01's unit; leader01 leads its level-1 grid


def snap(page: Page, name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / f"grid-{name}.png"))


def test_a_leader_sees_a_full_id_number_only_after_giving_a_reason(phone):
    system = phone.system
    worker = system.login("worker01")["access_token"]
    number = id_number(f"33042419720315{uuid.uuid4().int % 1000:03d}")
    body = {
        "grid_code": MICRO,
        "address": {"building": "9", "unit": "2", "room": f"B-{uuid.uuid4().hex[:6]}"},
        "members": [{"name": "浏览器户主", "relation": "head", "id_number": number}],
    }
    created = system.call("POST", "/api/v1/households", worker, json=body)
    assert created.status_code == 201, created.text
    household = created.json()
    masked = household["members"][0]["id_number"]

    # a worker reads the file but has no button to reveal
    page = phone.login("worker01")
    phone.open(f"/households/{household['id']}")
    expect(page.locator(".member-idno")).to_have_text(masked)
    expect(page.get_by_role("button", name="查看完整号码")).to_have_count(0)
    page.get_by_role("button", name="退出登录").click()
    # the logout finishes (its session ended, the phone cleared) before the next one signs in
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()

    page = phone.login("leader01")
    phone.open(f"/households/{household['id']}")
    expect(page.locator(".member-idno")).to_have_text(masked)
    expect(page.get_by_text("1972年生")).to_be_visible()
    page.get_by_role("button", name="查看完整号码").click()
    reason = page.get_by_label("查看原因（将记入审计）")
    expect(reason).to_be_focused()
    reason.fill(" ")
    page.get_by_role("button", name="确定查看").click()
    expect(page.get_by_role("alert")).to_have_text("请填写查看原因（至少两个字）")
    expect(page.locator(".member-idno")).to_have_text(masked)
    reason.fill("核对高龄补贴")
    page.get_by_role("button", name="确定查看").click()
    expect(page.locator(".member-idno")).to_have_text(number)
    expect(page.locator(".member-idno")).to_have_class("member-idno revealed")
    snap(page, "reveal-id")

    admin = system.login("admin")["access_token"]
    audit = system.call(
        "GET", "/api/v1/grid-audit", admin, params={"kind": "id_revealed", "limit": 20}
    ).json()
    entry = next(e for e in audit if e["record_id"] == household["id"])
    assert entry["detail"]["reason"] == "核对高龄补贴"
