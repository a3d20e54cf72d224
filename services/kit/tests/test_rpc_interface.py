"""A service calling a peer that hangs gets ServiceUnavailable at its deadline, not a hang."""

import time

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from contracts.errors import ServiceUnavailable
from services.kit.rpc import TimedRpcProxy

pytestmark = pytest.mark.interface


class SlowPeer:
    name = "slowpeer"

    @rpc
    def answer(self, seconds):
        eventlet.sleep(seconds)
        return "late"


class Asker:
    name = "asker"
    peer = TimedRpcProxy("slowpeer", timeout=0.5)
    nobody = TimedRpcProxy("nobodyhome", timeout=0.5)

    @rpc
    def ask(self, seconds):
        return self.peer.answer(seconds)

    @rpc
    def ask_nobody(self):
        return self.nobody.answer(0)


def test_a_hanging_peer_is_cut_off_at_the_deadline(container_factory, service_config):
    container_factory(SlowPeer, service_config).start()
    asker = container_factory(Asker, service_config)
    asker.start()
    with entrypoint_hook(asker, "ask") as ask:
        assert ask(0) == "late"
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as cut:
            ask(3)
        assert time.monotonic() - started < 2
        assert cut.value.details["reason"] == "timeout"
    with entrypoint_hook(asker, "ask_nobody") as ask_nobody, pytest.raises(ServiceUnavailable):
        ask_nobody()
