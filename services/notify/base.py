"""What every part of the notify service shares: its dependencies, the clock, the settings,
the directory (grid and identity, bounded RPC) and who may do what."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from contracts.caller import Caller
from contracts.errors import Forbidden, LianxinError
from services.kit.clock import Clock, ClockProvider
from services.kit.consumer import EventInbox
from services.kit.health import HealthMixin
from services.kit.outbox import Outbox, OutboxWriter
from services.kit.rpc import TimedRpcProxy
from services.notify.directory import Directory
from services.notify.messages import Settings
from services.notify.storage import NotifyStorage, NotifyStore

SERVICE = "notify"
# every named error is the caller's doing (or a peer's, said plainly): no stack trace
notify_rpc = rpc(expected_exceptions=LianxinError)


def _seconds(config: dict, name: str, default: float) -> float:
    return float(config.get(name) or os.environ.get(name) or default)


class NotifyBase(HealthMixin):
    """Dependencies and shared internals; the RPCs and handlers live in the mixins."""

    name = SERVICE
    store: NotifyStore = NotifyStorage()
    outbox: OutboxWriter = Outbox(SERVICE)
    consumed = EventInbox(SERVICE)  # events applied once (not `inbox`: that is an RPC)
    clock: Clock = ClockProvider()
    grid = TimedRpcProxy("grid")
    identity = TimedRpcProxy("identity")
    config = Config()

    def _now(self) -> datetime:
        at = self.clock.now()
        return at.replace(microsecond=at.microsecond // 1000 * 1000)  # MongoDB keeps ms

    def _settings(self) -> Settings:
        return Settings(
            digest_window=timedelta(seconds=_seconds(self.config, "NOTIFY_DIGEST_SECONDS", 60)),
            sms_grace=timedelta(seconds=_seconds(self.config, "NOTIFY_SMS_GRACE_SECONDS", 120)),
        )

    def _directory(self) -> Directory:
        return Directory(self.grid, self.identity)

    @staticmethod
    def _operator(caller: Caller) -> None:
        if not (caller.is_trusted or caller.has_role("operator")):
            raise Forbidden(details={"required_roles": ["operator"]})
