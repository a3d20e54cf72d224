"""Bad JSON is a 400 that names the problem, on every route (issue 7 §7): lone surrogates,
absurd nesting and kombu's typed-object marker never reach a service."""

from __future__ import annotations

import pytest
from flask import jsonify, request

LONE = b'"\\ud800"'  # valid JSON text for a lone UTF-16 surrogate


def post(client, path, raw: bytes, headers=None):
    return client.post(path, data=raw, content_type="application/json", headers=headers or {})


def assert_invalid(answer, *words):
    assert answer.status_code == 400, answer.data
    body = answer.json
    assert body["error"] == "invalid_json" and body["message"]
    said = str(body["details"])
    assert all(word in said for word in words), said
    return body


def test_a_lone_surrogate_in_a_login_field_names_the_field(client, rpc):
    raw = b'{"username": ' + LONE + b', "password": "x"}'
    body = assert_invalid(post(client, "/api/v1/auth/login", raw), "surrogate")
    assert "body['username']" in body["details"]
    assert rpc.calls == []


def test_a_lone_surrogate_in_a_key_is_refused(client):
    raw = b'{"username": "li", "password": "x", ' + LONE + b": 1}"
    assert_invalid(post(client, "/api/v1/auth/login", raw), "surrogate")


def test_a_lone_surrogate_on_household_patch_and_echo(client, rpc, bearer):
    who = bearer("grid_worker")
    raw = b'{"version": 1, "notes": ' + LONE + b"}"
    patched = client.patch(
        "/api/v1/households/h1", data=raw, content_type="application/json", headers=who
    )
    assert_invalid(patched, "surrogate")
    raw = b'{"client_id": "abcdefgh1", "payload": {"deep": [' + LONE + b"]}}"
    body = assert_invalid(post(client, "/api/v1/echo", raw, who), "surrogate")
    assert "body['payload']['deep'][0]" in body["details"]
    assert rpc.calls == []


@pytest.mark.parametrize("depth", [100_000, 65])
def test_deep_nesting_is_refused(client, depth):
    raw = b'{"username": ' + b"[" * depth + b"]" * depth + b', "password": "x"}'
    assert_invalid(post(client, "/api/v1/auth/login", raw), "nested deeper than 64")


def test_kombus_typed_object_marker_is_refused_anywhere(client, rpc, bearer):
    marker = b'{"__type__": "decimal", "__value__": "1"}'
    raw = b'{"client_id": "abcdefgh1", "payload": {"a": [' + marker + b"]}}"
    body = assert_invalid(post(client, "/api/v1/echo", raw, bearer("grid_worker")), "__type__")
    assert "body['payload']['a'][0]" in body["details"]
    assert_invalid(post(client, "/api/v1/auth/login", marker), "__type__")
    assert rpc.calls == []
    # an object that merely has such keys among others is ordinary data
    rpc.answer("notify", "echo", {"replay": False})
    fine = b'{"client_id": "abcdefgh1", "payload": {"__type__": 1, "__value__": 2, "x": 3}}'
    assert post(client, "/api/v1/echo", fine, bearer("grid_worker")).status_code == 200


def test_routes_that_read_json_their_own_way_are_covered_too(gateway_app):
    @gateway_app.post("/t/raw")
    def raw_route():
        return jsonify(request.get_json())

    @gateway_app.post("/t/ignores-body")
    def ignoring_route():
        return jsonify({"ok": True})

    client = gateway_app.test_client()
    assert_invalid(post(client, "/t/raw", b"[" + LONE + b"]"), "surrogate")
    assert_invalid(post(client, "/t/ignores-body", b"[" * 100_000), "nested")
    assert post(client, "/t/raw", '["网格 😀"]'.encode()).json == ["网格 😀"]
    assert post(client, "/t/ignores-body", b"").status_code == 200  # no body, nothing to judge


def test_not_utf8_and_not_json_stay_400(client):
    assert_invalid(post(client, "/api/v1/auth/login", b"\xff\xfe{}"), "UTF-8")
    assert_invalid(post(client, "/api/v1/auth/login", b"{nope"), "not JSON")
