"""Security headers on HTML and API answers (issue 7 §8), and no caching of personal data
(§5): API answers are no-store unless the route deliberately allows a copy."""

from __future__ import annotations

from flask import jsonify

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def assert_common(answer):
    for name, value in COMMON.items():
        assert answer.headers.get(name) == value, (name, answer.headers)
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_the_app_shell_has_a_policy_without_inline_code(gateway_app, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>网格连心</title>")
    answer = gateway_app.test_client().get("/households/h1")
    assert answer.status_code == 200
    assert_common(answer)
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "Strict-Transport-Security" not in answer.headers  # plain http here


def test_api_answers_allow_nothing_and_are_not_stored(client, rpc, bearer):
    rpc.answer("identity", "me", {"id": "u-1", "username": "li", "phone": "13800000000"})
    for answer in (
        client.get("/api/v1/auth/me", headers=bearer("grid_worker")),
        client.get("/api/v1/auth/me"),  # an error answer too
        client.get("/api/v1/nowhere"),
    ):
        assert_common(answer)
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert answer.headers["Cache-Control"] == "no-store"


def test_a_route_that_allows_caching_keeps_its_choice(gateway_app):
    @gateway_app.get("/api/v1/public/t/board")
    def board():  # as the public notice board does
        return jsonify({"name": "一网格"}), 200, {"Cache-Control": "public, max-age=300"}

    answer = gateway_app.test_client().get("/api/v1/public/t/board")
    assert answer.status_code == 200, answer.data
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    assert_common(answer)


def test_over_https_the_browser_is_told_to_stay_there(client):
    answer = client.get("/healthz", base_url="https://lianxin.example")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_docs_page_runs_its_one_inline_script_by_hash(client):
    answer = client.get("/api/v1/docs")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert_common(answer)
