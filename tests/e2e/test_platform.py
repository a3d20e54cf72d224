"""Health, readiness, request ids, OpenAPI, and the PWA being served."""

from __future__ import annotations

import pytest
from pymongo import MongoClient

from infra import demo

pytestmark = pytest.mark.e2e


def test_health_and_readiness_see_every_service(system):
    assert system.call("GET", "/healthz").json() == {"status": "ok"}
    ready = system.call("GET", "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["services"] == {
        s: "ok" for s in ("identity", "grid", "cases", "points", "notify")
    }


def test_request_ids_are_echoed_or_made(system):
    assert (
        system.call("GET", "/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = system.call("GET", "/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers[
        "X-Request-ID"
    ]
    assert made and " " not in made


def test_openapi_lists_every_api_route_with_schemas(system):
    spec = system.call("GET", "/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/admin/api-keys/{key_id}",
        "/readyz",
    ):
        assert path in spec["paths"], path
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("LoginIn")
    tokens = spec["components"]["schemas"]["TokensOut"]["properties"]
    answer = system.login("worker01")
    assert set(answer) == set(tokens)  # the answer is what the document says
    docs = system.call("GET", "/api/v1/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_unknown_routes_and_methods_answer_json(system):
    body = system.call("GET", "/api/v1/nothing-here").json()
    assert body["error"] == "not_found"
    assert system.call("DELETE", "/api/v1/auth/login").json()["error"] == "method_not_allowed"
    assert system.call("GET", "/missing-file.js").status_code == 404


def test_pwa_shell_is_served_with_manifest(system):
    index = system.call("GET", "/")
    assert index.status_code == 200 and 'lang="zh-CN"' in index.text
    assert system.call("GET", "/some/client/route").text == index.text  # client-side routes
    assert system.call("GET", "/sw.js").status_code == 200


def test_loading_demo_data_again_adds_nothing(system):
    db = MongoClient(system.mongo_url)

    def counts():
        return {
            (name, coll): db[name][coll].count_documents({})
            for name in ("wg_identity", "wg_grid")
            for coll in db[name].list_collection_names()
            if coll not in ("audit", "_txn_probe", "outbox", "commands", "imports")
        }

    before = counts()
    assert before[("wg_grid", "households")] > 1000
    demo.load({"AMQP_URI": system.amqp_uri, "serializer": "json"})
    assert counts() == before
