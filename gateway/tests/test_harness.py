"""The recording fake itself: what routes send crosses the wire codec, the caller included."""

import pytest
from flask import jsonify

from contracts.caller import Caller
from gateway.security import authenticated, current_caller


@pytest.fixture
def probe(gateway_app):
    @gateway_app.get("/t/probe")
    @authenticated()
    def probe_route():
        rpc = gateway_app.extensions["rpc"]
        return jsonify(rpc.call("grid", "probe", "x", caller=current_caller()))

    return gateway_app.test_client()


def test_a_route_passes_one_caller_built_from_the_token(probe, rpc, bearer):
    rpc.answer("grid", "probe", lambda arg, caller: {"arg": arg, "actor": caller.actor})
    answer = probe.get("/t/probe", headers=bearer("grid_worker", sub="u-7"))
    assert answer.json == {"arg": "x", "actor": "u-7"}
    call = rpc.last("grid", "probe")
    assert isinstance(call.kwargs["caller"], Caller)
    assert call.kwargs["caller"] == Caller("u-7", ("grid_worker",), ("330424001001",))


def test_the_fake_refuses_calls_nobody_expected(probe, bearer):
    answer = probe.get("/t/probe", headers=bearer("grid_worker"))
    assert answer.status_code == 500  # an unexpected RPC is a test bug, and it shows


def test_a_peer_timeout_inside_a_service_is_503_with_retry_after(probe, rpc, bearer):
    from contracts.errors import ServiceUnavailable

    rpc.answer("grid", "probe", ServiceUnavailable(details={"service": "grid"}))
    answer = probe.get("/t/probe", headers=bearer("grid_worker"))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json["error"] == "service_unavailable"
