"""The notify blueprint against a recording fake RPC: the caller passed, validation before
any call (empty or oversized notices, bad audiences, bad read requests), roles, errors
mapped (an audience outside one's scopes 403, an unknown template variable 400 in Chinese),
and the summary telling the app where the live stream is."""

from __future__ import annotations

from contracts.errors import Forbidden, ValidationFailed
from gateway.tests.answers import G1, HAIXING, TENGJING, assert_error

NOTICE = {
    "title": "停水通知",
    "body": "明天上午 9 点到 12 点停水，请提前储水。",
    "audience": {"kind": "grid", "code": HAIXING},
}


def test_my_inbox_pages_and_marks_read_as_me(client, rpc, bearer):
    rpc.answer("notify", "inbox", {"items": [], "unread": 3, "next_before": None})
    me = bearer("grid_worker", sub="u-7")
    answer = client.get("/api/v1/notify/messages?before=9&limit=5&unread=true", headers=me)
    assert answer.status_code == 200 and answer.json["unread"] == 3
    call = rpc.last("notify", "inbox")
    assert call.args == (9, 5, True, None) and call.kwargs["caller"].actor == "u-7"
    for bad in ("limit=0", "limit=101", "before=x", "unread=maybe", "page=2"):
        assert_error(
            client.get(f"/api/v1/notify/messages?{bad}", headers=me), 400, "validation_failed"
        )
    rpc.answer("notify", "mark_read", {"read": 2, "unread": 1})
    answer = client.post("/api/v1/notify/messages/read", json={"ids": ["a", "b"]}, headers=me)
    assert answer.json == {"read": 2, "unread": 1}
    assert rpc.last("notify", "mark_read").args == (["a", "b"], False)
    calls = len(rpc.calls)
    for bad in (
        {},
        {"ids": []},
        {"ids": ["a"], "all": True},
        {"ids": ["x"] * 201},
        {"all": "perhaps"},
    ):
        answer = client.post("/api/v1/notify/messages/read", json=bad, headers=me)
        assert_error(answer, 400, "validation_failed")
    assert len(rpc.calls) == calls
    assert_error(client.get("/api/v1/notify/messages"), 401, "unauthorized")


def test_the_summary_says_where_the_stream_is_and_the_page_may_reach_it(
    client, rpc, bearer, monkeypatch
):
    monkeypatch.setenv("STREAM_PORT", "9123")
    rpc.answer("notify", "summary", {"unread": 4, "latest_seq": 17})
    answer = client.get("/api/v1/notify/summary", headers=bearer("resident"))
    assert answer.json == {
        "unread": 4,
        "latest_seq": 17,
        "stream_url": "http://localhost:9123/api/v1/stream",
        "heartbeat_seconds": 20,
    }
    page = client.get("/")  # the page's policy names the stream's origin and nothing else
    assert "connect-src 'self' http://localhost:9123;" in page.headers["Content-Security-Policy"]
    monkeypatch.setenv("STREAM_URL", "/api/v1/stream")  # behind a proxy: one origin
    assert client.get("/api/v1/notify/summary", headers=bearer("resident")).json["stream_url"] == (
        "/api/v1/stream"
    )
    assert "connect-src 'self';" in client.get("/").headers["Content-Security-Policy"]


def test_a_notice_is_checked_before_it_is_sent(client, rpc, bearer):
    leader = bearer("grid_leader", scopes=(G1,), sub="u-lead")
    calls = len(rpc.calls)
    bad_notices = [
        {**NOTICE, "title": ""},
        {**NOTICE, "body": "   "},
        {**NOTICE, "title": "长" * 61},
        {**NOTICE, "body": "字" * 2001},
        {**NOTICE, "audience": {"kind": "street", "code": HAIXING}},
        {**NOTICE, "audience": {"kind": "posts", "code": HAIXING}},  # which posts?
        {**NOTICE, "audience": {"kind": "tag", "code": HAIXING, "tag": "rich"}},
        {**NOTICE, "audience": {"kind": "grid", "code": "海兴"}},
        {k: v for k, v in NOTICE.items() if k != "audience"},
    ]
    for body in bad_notices:
        answer = client.post("/api/v1/notify/announcements", json=body, headers=leader)
        assert_error(answer, 400, "validation_failed")
    oversized = client.post(
        "/api/v1/notify/announcements", json={**NOTICE, "body": "字" * 2001}, headers=leader
    )
    assert oversized.json["details"]["body"] == ["正文应为 1 到 2000 个字"]
    assert len(rpc.calls) == calls  # nothing reached the service
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(
        client.post("/api/v1/notify/announcements", json=NOTICE, headers=worker), 403, "forbidden"
    )
    # the service refuses an audience outside the sender's scopes: 403, in Chinese or English
    rpc.answer("notify", "publish_announcement", Forbidden(details={"audience.code": TENGJING}))
    outside = {**NOTICE, "audience": {"kind": "grid", "code": TENGJING}}
    answer = client.post("/api/v1/notify/announcements", json=outside, headers=leader)
    assert assert_error(answer, 403, "forbidden") == {"audience.code": TENGJING}
    english = client.post(
        "/api/v1/notify/announcements", json=outside, headers={**leader, "Accept-Language": "en"}
    )
    assert english.json["message"] == "You are not allowed to do this"
    rpc.answer("notify", "publish_announcement", {"id": "a1", "state": "resolving", "done": 0})
    answer = client.post(
        "/api/v1/notify/announcements",
        json=NOTICE,
        headers={**leader, "Idempotency-Key": "notice-0001"},
    )
    assert answer.status_code == 202 and answer.json["id"] == "a1"
    call = rpc.last("notify", "publish_announcement")
    assert call.args[1:] == ("notice-0001", "u-lead") and call.kwargs["caller"].actor == "u-lead"
    assert call.args[0]["urgent"] is False and "client_id" not in call.args[0]


def test_the_preview_is_the_servers_answer(client, rpc, bearer):
    leader = bearer("grid_leader", scopes=(G1,))
    rpc.answer(
        "notify",
        "preview_announcement",
        {"people": 96, "by_role": {"居民": 96}, "households": None, "audience_zh": "x"},
    )
    body = {"audience": {"kind": "posts", "code": G1, "posts": ["full_time_worker"]}}
    answer = client.post("/api/v1/notify/announcements/preview", json=body, headers=leader)
    assert answer.json["people"] == 96
    assert rpc.last("notify", "preview_announcement").args == (body["audience"],)
    assert_error(
        client.post("/api/v1/notify/announcements/preview", json={"audience": {}}, headers=leader),
        400,
        "validation_failed",
    )


def test_templates_and_dead_letters_are_for_operators(client, rpc, bearer):
    worker = bearer("grid_worker")
    assert_error(client.get("/api/v1/notify/templates", headers=worker), 403, "forbidden")
    operator = bearer("operator")
    rpc.answer(
        "notify",
        "set_template",
        ValidationFailed(details={"body": "未知的模板变量：{deadlin}；可用：{number}"}),
    )
    answer = client.put(
        "/api/v1/notify/templates/case_dispatched",
        json={"title": "{number}", "body": "{deadlin}"},
        headers=operator,
    )
    assert "{deadlin}" in assert_error(answer, 400, "validation_failed")["body"]
    assert_error(
        client.put(
            "/api/v1/notify/templates/case_dispatched", json={"title": ""}, headers=operator
        ),
        400,
        "validation_failed",
    )
    rpc.answer(
        "notify",
        "dead_letters",
        [
            {
                "id": "h:e1",
                "event_type": "case_dispatched",
                "handler": "on_case_dispatched",
                "error": "x",
                "attempts": 4,
                "last_failed_at": None,
            }
        ],
    )
    rpc.answer(
        "notify",
        "dead_deliveries",
        [
            {
                "id": "m1:push",
                "source": "delivery",
                "what": "push",
                "error": "410",
                "attempts": 1,
                "last_failed_at": None,
            }
        ],
    )
    letters = client.get("/api/v1/notify/dead-letters", headers=operator).json
    assert [(d["id"], d["source"]) for d in letters] == [("h:e1", "event"), ("m1:push", "delivery")]
    rpc.answer("notify", "replay_delivery", {"id": "m1:push", "outcome": "queued"})
    answer = client.post(
        "/api/v1/notify/dead-letters/m1:push/replay?source=delivery", headers=operator
    )
    assert answer.json["outcome"] == "queued"
    assert rpc.last("notify", "replay_delivery").args == ("m1:push",)


def test_push_subscriptions_and_preferences_are_validated(client, rpc, bearer):
    me = bearer("grid_worker", sub="u-3")
    good = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "k" * 87, "auth": "a" * 22}}
    rpc.answer("notify", "subscribe_push", {"subscribed": True})
    assert (
        client.post("/api/v1/notify/push/subscriptions", json=good, headers=me).status_code == 201
    )
    for bad in (
        {**good, "endpoint": "javascript:alert(1)"},
        {**good, "keys": {}},
        {"endpoint": good["endpoint"]},
    ):
        answer = client.post("/api/v1/notify/push/subscriptions", json=bad, headers=me)
        assert_error(answer, 400, "validation_failed")
    rpc.answer("notify", "set_preferences", {"kinds": [], "quiet": None})
    ok = {"kinds": {"case_dispatched": ["live"]}, "quiet": {"start": "22:00", "end": "07:00"}}
    assert client.put("/api/v1/notify/preferences", json=ok, headers=me).status_code == 200
    for bad in (
        {"kinds": {"nonsense": ["live"]}},
        {"kinds": {"case_dispatched": ["pager"]}},
        {"quiet": {"start": "25:00", "end": "07:00"}},
    ):
        assert_error(
            client.put("/api/v1/notify/preferences", json=bad, headers=me), 400, "validation_failed"
        )
