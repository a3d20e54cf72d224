"""The health answer every service gives the gateway's /readyz."""

from nameko.rpc import rpc


class HealthMixin:
    """Adds `health()`; a service whose database does not answer raises instead."""

    name: str
    store: object

    @rpc
    def health(self) -> dict:
        ping = getattr(self.store, "ping", None)
        if ping:
            ping()
        return {"service": self.name, "ok": True}
