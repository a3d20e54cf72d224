"""The locate index as a nameko dependency: built from the database when the container
starts (off the event loop), then kept in step with every grid change."""

from __future__ import annotations

import logging
from typing import Any

import eventlet
from eventlet import tpool
from nameko.extensions import DependencyProvider

from services.grid import geometry
from services.grid.storage import GridStore
from services.kit import settings
from services.kit.mongo import connect

log = logging.getLogger(__name__)

LOAD_CHUNK = 5000  # parse this many stored boundaries, then let other greenlets run


class GridIndex:
    """What workers see: `locate`, and `put`/`remove` to follow changes."""

    def __init__(self, rebuild_after: int = 2048):
        self.index = geometry.LocateIndex(rebuild_after=rebuild_after)
        self.versions: dict[str, int] = {}
        self.ready = eventlet.event.Event()
        self._rebuilding = False

    def load_from(self, store: GridStore) -> None:
        items = []
        for n, (code, boundary) in enumerate(store.boundaries(), 1):
            items.append((code, geometry.polygon_of(boundary)))
            if n % LOAD_CHUNK == 0:
                eventlet.sleep(0)
        snapshot = dict(items)
        base = tpool.execute(geometry.build_base, snapshot)
        self.index._geoms = dict(snapshot)
        self.index.install(snapshot, base)
        if not self.ready.ready():
            self.ready.send(True)
        log.info("locate index holds %d grids", len(snapshot))

    def wait(self, timeout: float = 120.0) -> None:
        with eventlet.Timeout(timeout):
            self.ready.wait()

    def locate(self, lon: float, lat: float) -> geometry.Located | None:
        self.wait()
        return self.index.locate(lon, lat)

    def put(self, code: str, boundary: dict | None, version: int) -> None:
        if self.versions.get(code, 0) >= version and code in self.index:
            return
        self.versions[code] = version
        if boundary is None:
            self.index.remove(code)
        else:
            self.index.put(code, geometry.polygon_of(boundary))
        self._maybe_rebuild()

    def remove(self, code: str) -> None:
        self.index.remove(code)
        self._maybe_rebuild()

    def known_version(self, code: str) -> int:
        return self.versions.get(code, 0)

    def _maybe_rebuild(self) -> None:
        if self.index.needs_rebuild and not self._rebuilding:
            self._rebuilding = True
            eventlet.spawn_n(self._rebuild)

    def _rebuild(self) -> None:
        try:
            snapshot = self.index.snapshot()
            base = tpool.execute(geometry.build_base, snapshot)
            self.index.install(snapshot, base)
        finally:
            self._rebuilding = False


class GridIndexProvider(DependencyProvider):
    def __init__(self, rebuild_after: int = 2048, **kwargs: Any):
        self.rebuild_after = rebuild_after
        super().__init__(**kwargs)

    def setup(self):
        config = self.container.config
        client = connect(config.get("MONGO_URL") or settings.mongo_url())
        self.store = GridStore(client, client[settings.db_name("grid", config)])
        self.grid_index = GridIndex(self.rebuild_after)

    def start(self):
        self.container.spawn_managed_thread(self._load, identifier="grid-index-load")

    def _load(self):
        try:
            self.grid_index.load_from(self.store)
        except Exception:
            log.exception("could not build the locate index")
            raise

    def get_dependency(self, _worker_ctx):
        return self.grid_index
