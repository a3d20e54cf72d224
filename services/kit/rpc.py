"""RPC from one service to another, bounded in time.

nameko's in-service `RpcProxy` waits forever for an answer (STACK-NOTES): a dead peer would
hold the worker, and the caller's caller, until something else gives up. `TimedRpcProxy`
is the same proxy with a deadline per call (config `RPC_TIMEOUT`, default 5 s); past it
the call raises `ServiceUnavailable` (503 at the gateway), and a late answer is dropped.

    grid = TimedRpcProxy("grid")
    ...
    self.grid.on_duty(code, caller=Caller.trusted("cases"))
"""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from contracts.errors import ServiceUnavailable

DEFAULT_TIMEOUT = 5.0


class TimedRpcProxy(RpcProxy):
    def __init__(self, target_service: str, timeout: float | None = None, **options: Any):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def get_dependency(self, worker_ctx):
        seconds = self.timeout or float(
            self.container.config.get("RPC_TIMEOUT", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT
        )
        return _Bounded(super().get_dependency(worker_ctx), self.target_service, seconds)


class _Bounded:
    def __init__(self, proxy, service: str, seconds: float):
        self._proxy = proxy
        self._service = service
        self._seconds = seconds

    def __getattr__(self, method: str):
        target = getattr(self._proxy, method)

        def call(*args: Any, **kwargs: Any):
            timeout = eventlet.Timeout(self._seconds)
            try:
                return target(*args, **kwargs)
            except eventlet.Timeout as exc:
                if exc is not timeout:
                    raise
                raise ServiceUnavailable(
                    details={"service": self._service, "method": method, "reason": "timeout"}
                ) from None
            except UnknownService:
                raise ServiceUnavailable(
                    details={"service": self._service, "reason": "not running"}
                ) from None
            finally:
                timeout.cancel()

        return call
