"""What every part of the grid service shares: its dependencies, and the RPC decorator."""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from contracts.errors import LianxinError, NotFound
from services.grid.locating import GridIndex, GridIndexProvider
from services.grid.storage import GridStorage, Registry
from services.grid.vault import Vault, vault_from
from services.kit.clock import Clock, ClockProvider
from services.kit.outbox import Outbox, OutboxWriter


class VaultProvider(DependencyProvider):
    """`self.vault`: the keys of personal data (services/grid/vault.py), read at start."""

    def setup(self) -> None:
        self.vault = vault_from(self.container.config)

    def get_dependency(self, _worker_ctx) -> Vault:
        return self.vault


# Every grid RPC: a named error is the caller's doing (a bad field, a stale version, a record
# outside their scopes), answered as such and not logged with a stack trace.
grid_rpc = rpc(expected_exceptions=LianxinError)


class GridBase:
    """The dependencies; the RPCs live in the rpc_* parts, the rules in the aggregates."""

    store: Registry = GridStorage()
    outbox: OutboxWriter = Outbox("grid")
    clock: Clock = ClockProvider()
    grid_index: GridIndex = GridIndexProvider()
    vault: Vault = VaultProvider()
    config = Config()

    @grid_rpc
    def health(self) -> dict:
        """{service, ok}; raises when the database does not answer."""
        self.store.ping()
        return {"service": self.name, "ok": True}

    def _grid_or_404(self, code: str, session=None) -> dict:
        doc = self.store.grid(code, session=session) if code else None
        if doc is None:
            raise NotFound(details={"grid_code": code})
        return doc
