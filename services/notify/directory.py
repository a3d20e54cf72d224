"""What the notify service asks the grid and identity services (RPC, each call bounded by
the kit's TimedRpcProxy): names of places, the leaders of a grid, a unit's staff, users by
role and scope, staff posts, households by tag.

Names and posts change rarely and a dispatch must be told within a second, so answers are
kept for a while per process (`CACHE_SECONDS`); a message names a place as it was called a
few minutes ago at worst. A service that does not answer raises ServiceUnavailable: the
consumer then retries the event with back-off and dead-letters it if it keeps failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from contracts.caller import Caller

CACHE_SECONDS = 300.0
TRUSTED = Caller.trusted("notify")


class _Cache:
    def __init__(self, seconds: float = CACHE_SECONDS, size: int = 5000):
        self.seconds = seconds
        self.size = size
        self._items: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
        if found and found[0] > now:
            return found[1]
        value = load()
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (now + self.seconds, value)
        return value


_names = _Cache()
_leaders = _Cache(60.0)
_staff = _Cache(60.0)


def level1(code: str) -> str:
    """The level-1 grid of a grid code (or the code itself when it is not a grid)."""
    parts = code.split("-")
    return "-".join(parts[:2]) if len(parts) >= 2 else code


class Directory:
    def __init__(self, grid: Any, identity: Any):
        self.grid = grid
        self.identity = identity

    # --- names ------------------------------------------------------------------------------
    def division_name(self, code: str) -> str | None:
        def load() -> str | None:
            for d in self.grid.list_divisions(code):
                if d["code"] == code:
                    return d["name"]
            return None

        return _names.get(("division", code), load)

    def grid_name(self, code: str) -> str | None:
        def load() -> str | None:
            try:
                return self.grid.get_grid(code, caller=TRUSTED)["name"]
            except Exception as exc:  # a grid retired or unknown: no name, still a message
                if getattr(exc, "code", None) == "not_found":
                    return None
                raise

        return _names.get(("grid", code), load)

    def community(self, code: str) -> str:
        village = code.split("-")[0][:12]
        return self.division_name(village) or village

    def place(self, grid_code: str, grid_name: str | None = None) -> str:
        """ "海兴社区 1幢": the community and the grid's own name."""
        community = self.community(grid_code)
        if "-" not in grid_code:
            return community
        name = grid_name or self.grid_name(grid_code)
        return f"{community} {name}" if name else community

    # --- people -----------------------------------------------------------------------------
    def posts_under(self, code: str) -> list[dict]:
        """Every staff post on the grid `code` and below it (on every grid under a division)."""
        if "-" in code:
            return self.grid.list_posts(code, True, caller=TRUSTED)
        found: list[dict] = []
        for g in self.grid.list_grids(code, 1, caller=TRUSTED):
            found += self.grid.list_posts(g["code"], True, caller=TRUSTED)
        return found

    def leaders(self, grid_code: str) -> list[str]:
        top = level1(grid_code)
        if "-" not in top:
            return []

        def load() -> list[str]:
            try:
                posts = self.grid.list_posts(top, False, caller=TRUSTED)
            except Exception as exc:
                if getattr(exc, "code", None) == "not_found":
                    return []
                raise
            return [p["user_id"] for p in posts if p.get("post") == "grid_leader"]

        return _leaders.get(top, load)

    def unit_staff(self, unit: str, role: str) -> list[str]:
        return _staff.get((unit, role), lambda: [u["id"] for u in self.users(unit, role)])

    def users(self, scope: str, role: str) -> list[dict]:
        """Enabled users holding `role` with a scope inside `scope`: [{id, display_name}]."""
        return self.identity.users_in(scope, [role])

    def households(self, code: str, tag: str) -> Iterator[dict]:
        """Household lines with `tag` under `code`, page by page (no names or numbers)."""
        skip = 0
        while True:
            page = self.grid.search_households(None, tag, None, code, 200, skip, caller=TRUSTED)
            yield from page
            if len(page) < 200:
                return
            skip += 200
