"""Dead letters of the whole system through the admin API: a case event that does not fit
its schema, published onto the real bus as the cases service would, is kept at once by both
services that consume it (points and notify); the operator sees it under each, replays it
(still malformed, so it stays dead and counts the try), and is refused what is not there."""

from __future__ import annotations

import uuid

from contracts.cases import CASE_CLOSED
from contracts.events import envelope
from services.kit.outbox import amqp_publisher
from tests.producers import wait_for


def test_a_malformed_event_is_listed_per_service_and_replays(system):
    operator = system.login("admin")["access_token"]
    bad = envelope(CASE_CLOSED, {"case_id": f"e2e-{uuid.uuid4().hex[:8]}"}, producer="cases")
    amqp_publisher(system.amqp_uri, "cases")(bad)

    def mine():
        answer = system.call("GET", "/api/v1/admin/dead-letters?limit=500", operator)
        assert answer.status_code == 200, answer.text
        found = [d for d in answer.json()["letters"] if d["event"]["id"] == bad["id"]]
        return found if len(found) == 2 else None

    letters = {d["service"]: d for d in wait_for(mine, 60)}
    assert set(letters) == {"points", "notify"}
    points = letters["points"]
    assert points["state"] == "dead" and points["attempts"] == 1
    assert "schema" in points["error"] and points["handler"] == "on_case_closed"

    one = system.call("GET", "/api/v1/admin/dead-letters?service=points&limit=500", operator)
    assert {d["service"] for d in one.json()["letters"]} == {"points"}
    assert one.json()["unavailable"] == {}

    path = f"/api/v1/admin/dead-letters/points/{points['id']}/replay"
    replayed = system.call("POST", path, operator)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {"id": points["id"], "service": "points", "outcome": "dead_letter"}
    again = system.call("GET", "/api/v1/admin/dead-letters?service=points&limit=500", operator)
    (kept,) = [d for d in again.json()["letters"] if d["id"] == points["id"]]
    assert kept["attempts"] == 2 and kept["state"] == "dead"

    missing = system.call("POST", "/api/v1/admin/dead-letters/points/nope:1/replay", operator)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    unknown = system.call("POST", "/api/v1/admin/dead-letters/grid/x/replay", operator)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    worker = system.login("worker01")["access_token"]
    assert system.call("GET", "/api/v1/admin/dead-letters", worker).status_code == 403
