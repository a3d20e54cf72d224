"""The operators' dead letters against a recording fake RPC: every consuming service asked
(each letter naming its service, newest first), a service that does not answer named as
unavailable rather than failing the page, one service by name, replay, and the refusals
(not an operator, an unknown service, a bad state)."""

from __future__ import annotations

from nameko.exceptions import RemoteError

from contracts.errors import NotFound
from gateway.rpc import ServiceUnavailable
from gateway.tests.answers import assert_error


def letter(letter_id: str, at: str, **extra) -> dict:
    return {
        "id": letter_id,
        "handler": "on_case_closed",
        "event_type": "case_closed",
        "producer": "cases",
        "error": "MalformedEvent: payload does not fit its schema",
        "attempts": 1,
        "state": "dead",
        "first_failed_at": at,
        "last_failed_at": at,
        "event": {"id": letter_id.split(":")[1], "type": "case_closed", "payload": {}},
        "trace": "Traceback (most recent call last): ...",
        **extra,
    }


def test_every_consuming_service_is_asked_and_a_silent_one_is_named(client, rpc, bearer):
    operator = bearer("operator", sub="op-1")
    rpc.answer("points", "dead_letters", [letter("on_case_closed:e1", "2026-11-23T02:00:00")])
    rpc.answer("cases", "dead_letters", [letter("triage:e2", "2026-11-23T03:00:00")])
    rpc.answer("notify", "dead_letters", ServiceUnavailable("notify", "timeout"))
    answer = client.get("/api/v1/admin/dead-letters?limit=10", headers=operator)
    assert answer.status_code == 200
    body = answer.json
    assert [(d["service"], d["id"]) for d in body["letters"]] == [
        ("cases", "triage:e2"),
        ("points", "on_case_closed:e1"),
    ]
    assert body["unavailable"] == {"notify": "timeout"}
    rpc.answer("cases", "dead_letters", RemoteError("KeyError", "'x'"))  # a bug over there
    again = client.get("/api/v1/admin/dead-letters?limit=1", headers=operator).json
    assert again["unavailable"] == {"notify": "timeout", "cases": "error: KeyError"}
    assert [d["id"] for d in again["letters"]] == ["on_case_closed:e1"]
    assert "trace" not in body["letters"][0]  # no stack traces over HTTP
    assert body["letters"][1]["event"]["id"] == "e1"
    call = rpc.last("points", "dead_letters")
    assert call.args == ("dead", 1) and call.kwargs["caller"].actor == "op-1"


def test_one_service_and_its_replayed_letters(client, rpc, bearer):
    rpc.answer("points", "dead_letters", [letter("on_case_closed:e1", "x", state="replayed")])
    answer = client.get(
        "/api/v1/admin/dead-letters?service=points&state=replayed", headers=bearer("operator")
    )
    assert [d["state"] for d in answer.json["letters"]] == ["replayed"]
    assert rpc.last("points", "dead_letters").args == ("replayed", 100)
    assert {c.service for c in rpc.calls if c.method == "dead_letters"} == {"points"}


def test_replay_goes_to_the_named_service(client, rpc, bearer):
    rpc.answer("points", "replay_dead_letter", {"id": "on_case_closed:e1", "outcome": "applied"})
    answer = client.post(
        "/api/v1/admin/dead-letters/points/on_case_closed:e1/replay",
        headers=bearer("operator", sub="op-2"),
    )
    assert answer.status_code == 200
    assert answer.json == {"id": "on_case_closed:e1", "service": "points", "outcome": "applied"}
    call = rpc.last("points", "replay_dead_letter")
    assert call.args == ("on_case_closed:e1",) and call.kwargs["caller"].actor == "op-2"
    rpc.answer("points", "replay_dead_letter", NotFound(details={"dead_letter": "x"}))
    answer = client.post("/api/v1/admin/dead-letters/points/x/replay", headers=bearer("operator"))
    assert_error(answer, 404, "not_found")
    rpc.answer("cases", "replay_dead_letter", ServiceUnavailable("cases", "timeout"))
    answer = client.post("/api/v1/admin/dead-letters/cases/x/replay", headers=bearer("operator"))
    assert_error(answer, 503, "service_unavailable")
    assert answer.headers["Retry-After"]


def test_refusals(client, rpc, bearer):
    operator = bearer("operator")
    for answer in (
        client.get("/api/v1/admin/dead-letters?service=identity", headers=operator),
        client.get("/api/v1/admin/dead-letters?service=nope", headers=operator),
        client.post("/api/v1/admin/dead-letters/grid/x/replay", headers=operator),
    ):
        assert assert_error(answer, 404, "not_found")["service"] in ("identity", "nope", "grid")
    assert_error(
        client.get("/api/v1/admin/dead-letters?state=lost", headers=operator),
        400,
        "validation_failed",
    )
    worker = bearer("grid_worker")
    assert_error(client.get("/api/v1/admin/dead-letters", headers=worker), 403, "forbidden")
    assert_error(
        client.post("/api/v1/admin/dead-letters/points/x/replay", headers=worker),
        403,
        "forbidden",
    )
    assert_error(client.get("/api/v1/admin/dead-letters"), 401, "unauthorized")
    assert not rpc.calls


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/admin/dead-letters"]
    replay = paths["/api/v1/admin/dead-letters/{service}/{letter_id}/replay"]["post"]
    assert "operator" in replay["description"]
