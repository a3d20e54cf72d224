"""网格长视图: a grid leader marks a worker 缺岗 (the B post takes over) and 到岗 again, against
the real system; the server's on-duty answer agrees. An online action: offline the buttons are
disabled, and instructors see the board read-only. The demo data is put back at the end."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.browser.test_grid_screens import L1, api, snap, token

BUILDING = f"{L1}-02"  # 2幢, a level-2 grid with an A and a B post (not worker01's)


def absence(system, user_id: str, absent: bool) -> dict:
    answer = system.call(
        "PUT",
        f"/api/v1/grids/{BUILDING}/posts/{user_id}/absence",
        token(system, "leader01"),
        json={"absent": absent},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def open_board(page: Page) -> None:
    page.get_by_role("link", name=re.compile("网格长视图")).click()
    expect(page.get_by_role("heading", name="网格长视图")).to_be_visible()


def test_the_leader_marks_the_a_post_absent_and_back(phone, context):
    system = phone.system
    board = api(system, "leader01", f"/api/v1/duty-board?code={L1}")
    grid = next(g for g in board["grids"] if g["code"] == BUILDING)
    a = next(p for p in grid["posts"] if p["ab"] == "A")
    b = next(p for p in grid["posts"] if p["ab"] == "B")
    assert not a["absent"] and not b["absent"]
    assert grid["on_duty"]["user_id"] == a["user_id"]
    name_a, name_b = a["display_name"], b["display_name"]
    puts = []
    try:
        page = phone.login("leader01")
        page.on("request", lambda r: r.method == "PUT" and puts.append(r.url))
        open_board(page)
        card = page.locator(f'.duty-card[data-code="{BUILDING}"]')
        card.locator("summary").click()

        # 缺岗: the confirmation says who takes over; a double tap sends once.
        card.get_by_role("button", name=f"标记 {a['display_name']} 缺岗").click()
        panel = card.get_by_role("group", name="确认标记缺岗")
        expect(panel).to_contain_text(f"标记 {name_a} 缺岗后，由 B岗 {name_b} 接手")
        panel.scroll_into_view_if_needed()
        snap(page, "duty-absence-confirm")
        panel.get_by_role("button", name="确认缺岗").dblclick()
        expect(card.locator(".duty-now")).to_contain_text(b["display_name"])
        expect(card.locator(".duty-now")).to_contain_text("B岗")
        expect(card).to_have_attribute("open", "")  # the board kept the card open
        row = card.locator(f'.post[data-user="{a["user_id"]}"]')
        expect(row.locator(".badge-warn")).to_have_text("缺岗")
        expect(page.locator(".toast").last).to_contain_text(f"现由 {b['display_name']} 处理")
        assert len(puts) == 1, puts
        on_duty = api(system, "leader01", f"/api/v1/grids/{BUILDING}/on-duty")
        assert on_duty["user_id"] == b["user_id"] and on_duty["ab"] == "B"
        snap(page, "duty-absence-done")

        # An error is the API's Chinese message, and the panel stays for another try.
        def refuse(route):
            body = {"error": "forbidden", "message": "您无权调整该网格的岗位"}
            route.fulfill(status=403, content_type="application/json", body=json.dumps(body))

        context.route("**/absence", refuse)
        row.get_by_role("button", name=f"标记 {a['display_name']} 到岗").click()
        panel = card.get_by_role("group", name="确认标记到岗")
        expect(panel).to_contain_text(f"标记 {name_a} 到岗后，由 A岗 {name_a} 接手")
        panel.get_by_role("button", name="确认到岗").click()
        expect(panel.get_by_role("alert")).to_have_text("您无权调整该网格的岗位")
        expect(panel.get_by_role("button", name="确认到岗")).to_be_enabled()
        context.unroute("**/absence", refuse)

        # 到岗: A handles the grid again.
        panel.get_by_role("button", name="确认到岗").click()
        expect(card.locator(".duty-now")).to_contain_text(a["display_name"])
        expect(card.locator(".duty-now")).to_contain_text("A岗")
        expect(row.locator(".badge-warn")).to_have_count(0)
        on_duty = api(system, "leader01", f"/api/v1/grids/{BUILDING}/on-duty")
        assert on_duty["user_id"] == a["user_id"]

        # Offline: an online action, so the buttons are disabled with a note, never queued.
        context.set_offline(True)
        expect(card.get_by_text("联网后才能调整岗位")).to_be_visible()
        toggles = page.locator(".post-toggle")
        assert toggles.count() > 0
        for i in range(toggles.count()):
            expect(toggles.nth(i)).to_be_disabled()
        page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")
        card.locator(".offline-note").scroll_into_view_if_needed()
        snap(page, "duty-absence-offline")
        context.set_offline(False)
        expect(card.get_by_text("联网后才能调整岗位")).to_be_hidden()
        expect(row.locator(".post-toggle")).to_be_enabled()
    finally:
        context.set_offline(False)
        absence(system, a["user_id"], False)
        absence(system, b["user_id"], False)


def test_an_instructor_sees_the_board_read_only(phone):
    page = phone.login("instructor01")
    open_board(page)
    top = page.locator(".duty-card").first
    expect(top.get_by_role("list", name=re.compile("岗位")).locator("li").first).to_be_visible()
    expect(page.locator(".post-toggle")).to_have_count(0)
    expect(page.get_by_text("联网后才能调整岗位")).to_have_count(0)
