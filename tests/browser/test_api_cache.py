"""API reads go network-first through the service worker: fresh when the network answers
within 3 s, the last copy when it is down or too slow; logging out forgets the copies."""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect

# Stands in for a read endpoint, so this test does not depend on which reads exist yet; the
# route answers for the gateway, behind the service worker, as the network would.
PROBE = "/api/v1/probe"
FETCH = """async (url) => {
    const started = Date.now();
    try {
        const answer = await fetch(url);
        return { status: answer.status, body: await answer.json(), ms: Date.now() - started };
    } catch (err) {
        return { status: String(err), body: null, ms: Date.now() - started };
    }
}"""


def test_api_reads_are_network_first_with_a_cached_fallback(phone, context):
    network = {"served": 0, "delay": 0.0, "down": False}

    def gateway(route):
        if network["down"]:
            return route.abort("internetdisconnected")
        network["served"] += 1
        time.sleep(network["delay"])
        return route.fulfill(
            status=200,
            headers={"Content-Type": "application/json"},
            body=json.dumps({"served": network["served"]}),
        )

    context.route(f"**{PROBE}", gateway)
    page = phone.login("worker01")
    phone.wait_offline_ready()

    def read():
        return page.evaluate(FETCH, PROBE)

    assert read()["body"] == {"served": 1}
    assert read()["body"] == {"served": 2}  # network first: a fresh answer each time

    network["down"] = True
    context.set_offline(True)
    offline = read()
    assert (offline["status"], offline["body"]) == (200, {"served": 2})

    context.set_offline(False)
    network["down"] = False
    network["delay"] = 5.0
    slow = read()
    assert (slow["status"], slow["body"]) == (200, {"served": 2})
    assert 2500 <= slow["ms"] <= 4500, slow["ms"]

    # The auth endpoints are never cached.
    cached = page.evaluate(
        "async () => (await (await caches.open('lianxin-api')).keys()).map(r => r.url)"
    )
    assert phone.system.url(PROBE) in cached
    # (the home screen's own reads, e.g. /api/v1/me/grids, may sit beside it)
    assert not [url for url in cached if "/api/v1/auth/" in url], cached

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    deadline = time.monotonic() + 5
    while page.evaluate("caches.has('lianxin-api')") and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert page.evaluate("caches.has('lianxin-api')") is False
