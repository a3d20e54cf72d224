"""The case screens in the browser. After one online session the phone is opened again
with no network: a resident reports a problem with a photo, it waits in the outbox, and
once the network is back the photo goes up once and the report once. A worker then accepts
the dispatched case on their phone; the public board opens without a login."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import RESULTS
from tests.browser.test_cold_start import launch

UNIT_GRID = "330424001001-001-01-01"


def camera_photo(path) -> str:
    out = io.BytesIO()
    tags = Image.Exif()
    tags[0x010F] = "PhoneMaker"
    Image.new("RGB", (3000, 2000), (200, 120, 40)).save(out, "JPEG", exif=tags)
    path.write_bytes(out.getvalue())
    return str(path)


def test_a_report_with_a_photo_made_offline_after_a_cold_start_is_sent_once(app, browser, tmp_path):
    base = app.base_url
    profile = tmp_path / "phone"
    online = launch(browser, profile, offline=False)
    try:
        page = online.pages[0] if online.pages else online.new_page()
        page.goto(base + "/login")
        page.get_by_label("用户名").fill("resident01")
        page.get_by_label("密码", exact=True).fill(app.demo_password)
        page.get_by_role("button", name="登录", exact=True).click()
        expect(page.get_by_role("button", name="退出登录")).to_be_visible()
        page.wait_for_function(
            "async () => { const r = await navigator.serviceWorker.ready;"
            " return !!(r.active && navigator.serviceWorker.controller); }"
        )
        page.goto(base + "/cases/new")  # the form's categories and grids are kept on the phone
        expect(page.get_by_label("问题类别")).to_be_visible()
        expect(page.locator("#case-grid option")).not_to_have_count(1)
        # the service worker keeps its copies as the answers arrive: wait until it holds them
        page.wait_for_function(
            "async () => !!(await caches.match('/api/v1/cases/meta'))"
            " && !!(await caches.match('/api/v1/grids'))"
        )
        page.goto(base + "/cases")
        expect(page.get_by_role("heading", name="事件")).to_be_visible()
    finally:
        online.close()

    phone = launch(browser, profile, offline=True)
    try:
        uploads, reports = [], []
        phone.on(
            "response",
            lambda r: (
                r.request.method == "POST"
                and (uploads if r.url.endswith("/api/v1/case-photos") else reports).append(r)
                if r.url.endswith(("/api/v1/case-photos", "/api/v1/cases"))
                else None
            ),
        )
        page = phone.pages[0] if phone.pages else phone.new_page()
        page.goto(base + "/cases/new")
        expect(page.locator(".offline-banner")).to_be_visible()
        try:  # the form from the phone's copies (a cold start from disk is slow when loaded)
            expect(page.get_by_label("问题类别")).to_be_visible(timeout=30_000)
        except AssertionError:
            RESULTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(RESULTS / "cases-offline-form.png"), full_page=True)
            raise
        what = f"路灯不亮了 {uuid.uuid4().hex[:6]}"
        page.get_by_label("问题类别").select_option("streetlight")
        page.get_by_label("问题描述").fill(what)
        page.locator("#case-photo-input").set_input_files(camera_photo(tmp_path / "photo.jpg"))
        expect(page.get_by_text("已选 1 张")).to_be_visible()
        page.get_by_label("所在网格").select_option(UNIT_GRID)
        page.get_by_role("button", name="提交").click()
        expect(page.get_by_text("上报事件 · 路灯损坏")).to_be_visible()
        expect(page.get_by_text("待发送（含 1 张照片）")).to_be_visible()
        assert uploads == [] and reports == []

        phone.unroute("**/api/**")
        phone.set_offline(False)
        expect(page.locator(".pending-bar")).to_have_text(re.compile("全部已发送"), timeout=20_000)
        page.wait_for_timeout(500)
        assert [r.status for r in uploads] == [201]  # the photo went up once
        assert [r.status for r in reports] == [201]  # and the report once, naming it
        photo_id = uploads[0].json()["id"]
        sent = reports[0].json()
        assert sent["photos"] == [photo_id] and sent["description"] == what
    finally:
        phone.close()

    token = app.login("resident01")["access_token"]
    mine = app.call("GET", "/api/v1/cases", token, params={"view": "reported", "limit": 100}).json()
    assert [c["id"] for c in mine["items"] if c["id"] == sent["id"]] == [sent["id"]]
    case = app.call("GET", f"/api/v1/cases/{sent['id']}", token).json()
    assert case["description"] == what and case["photos"] == [photo_id]
    picture = app.call("GET", f"/api/v1/case-photos/{photo_id}", token)
    image = Image.open(io.BytesIO(picture.content))
    assert max(image.size) <= 1600 and not image.getexif()  # compressed on the phone, no EXIF


def test_a_worker_accepts_on_the_phone_and_the_board_is_public(app, phone):
    resident = app.login("resident01")["access_token"]
    created = app.call(
        "POST",
        "/api/v1/cases",
        resident,
        json={"category": "errand_help", "description": "帮忙代办老年卡", "grid_code": UNIT_GRID},
    ).json()
    page = phone.login("worker01")
    page.goto(app.base_url + f"/cases/{created['id']}")
    expect(page.get_by_role("heading", name=re.compile("代办服务"))).to_be_visible()
    expect(page.locator(".case-head .case-state")).to_have_text("已派遣", timeout=15_000)
    page.get_by_role("button", name="接单").click()
    page.get_by_role("button", name="确认接单").click()
    expect(page.locator(".case-head .case-state")).to_have_text("处置中", timeout=15_000)
    expect(page.get_by_role("button", name="办理反馈")).to_be_visible()

    board = page.context.browser.new_context(viewport={"width": 360, "height": 640}, locale="zh-CN")
    try:
        public = board.new_page()
        public.goto(app.base_url + "/board?grid=330424001001")
        expect(public.get_by_role("heading", name="晒单 · 办结公示")).to_be_visible()
        expect(public.get_by_text("按时办结率")).to_be_visible()
        expect(public.get_by_role("button", name="退出登录")).to_have_count(0)
    finally:
        board.close()


def test_a_step_queued_offline_that_the_case_outran_is_shown_plainly(app, phone):
    resident = app.login("resident01")["access_token"]
    leader = app.login("leader01")["access_token"]
    created = app.call(
        "POST",
        "/api/v1/cases",
        resident,
        json={
            "category": "elderly_help",
            "description": "独居老人需要陪同就医",
            "grid_code": UNIT_GRID,
        },
    ).json()
    page = phone.login("worker01")
    phone.wait_offline_ready()
    page.goto(app.base_url + f"/cases/{created['id']}")
    expect(page.locator(".case-head .case-state")).to_have_text("已派遣", timeout=15_000)
    page.context.set_offline(True)
    page.get_by_role("button", name="接单").click()
    page.get_by_role("button", name="确认接单").click()
    expect(page.get_by_text("“接单”已保存，联网后自动发送")).to_be_visible()
    # meanwhile the leader sends the case to the community
    case = app.call("GET", f"/api/v1/cases/{created['id']}", leader).json()
    moved = app.call(
        "POST",
        f"/api/v1/cases/{created['id']}/transitions",
        leader,
        json={"action": "reassign", "version": case["version"], "to": {"level": "community"}},
    )
    assert moved.status_code == 200, moved.text
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    notice = page.get_by_role("alert").filter(has_text="没有生效")
    expect(notice).to_contain_text("接单", timeout=20_000)
    expect(notice).to_contain_text("已派遣")
    after = app.call("GET", f"/api/v1/cases/{created['id']}", leader).json()
    assert after["version"] == moved.json()["version"] and after["handler_id"] is None
