"""Divisions and grids: the registry itself, boundaries checked on every change, locate,
the grid-rule warnings and the public notice board. Rules live in grids.py and
divisions.py; these RPCs load the input, check scope, and write through them."""

from __future__ import annotations

from collections import Counter, defaultdict

from contracts.caller import Caller
from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.grid_http import DivisionsIn, GridCreateIn, GridUpdateIn
from services.grid import divisions, domain, geometry, grids, posts, versions
from services.grid.base import GridBase, grid_rpc
from services.grid.versions import Stamp
from services.kit.inputs import load


class DivisionAndGridRpc(GridBase):
    @grid_rpc
    def put_divisions(self, items: list, *, caller: Caller) -> dict:
        """Create or rename administrative divisions: [{code, name}] (codes of 2/4/6/9/12
        digits; a parent must exist or come earlier in the list). Answers counts.
        Codes below the city level must lie in the caller's scopes, and only an operator
        creates or renames a province or city (else Forbidden)."""
        given = load(DivisionsIn(), {"divisions": items})["divisions"]
        known = {d["_id"]: d for d in self.store.divisions_under()}
        divisions.require_writable(caller, given, known)
        docs = divisions.records(given, set(known), caller.actor)
        counts: Counter = Counter()

        def work(session):
            for doc in docs:
                counts[self.store.put_division(doc, session=session)] += 1

        self.store.transaction(work)
        return dict(counts)

    @grid_rpc
    def list_divisions(self, prefix: str | None = None) -> list:
        """[{code, name, level, parent}] under a code prefix (all when None); names of
        divisions are public."""
        return [divisions.view(d) for d in self.store.divisions_under(prefix)]

    @grid_rpc
    def create_grid(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Create a grid: {code, name, kind, dedicated_kind?, boundary (GeoJSON)}.

        The code fixes level and parent; the boundary must lie inside the parent's and not
        overlap a sibling. Refused with ValidationFailed naming the grids and the overlap.
        A code outside the caller's scopes is Forbidden."""
        data = load(GridCreateIn(), data)
        code = caller.require_writable(data["code"], "code")
        now = self.clock.now()

        def execute(session):
            problems, shape = grids.judge(data)
            if problems:
                raise ValidationFailed(details=problems)
            grids.require_placed(self.store, code, shape, session)
            doc = grids.record(code, grids.fields(data, shape), Stamp(now, caller.actor))
            grids.save(self.store, self.outbox, session, [(doc, "created")])
            return {"code": code, "version": doc["version"]}

        key = f"{caller.actor}:{client_id}"
        self.store.run_command("create_grid", key, {"data": data}, execute)
        self.outbox.wake()
        doc = self.store.grid(code)
        self.grid_index.put(code, doc.get("boundary"), doc["version"])
        return grids.view(doc, True)

    @grid_rpc
    def update_grid(self, code: str, changes: dict, version: int, *, caller: Caller) -> dict:
        """Rename, re-kind or redraw a grid based on `version`; a stale version is Conflict
        with the current grid in details. A grid outside the caller's scopes is NotFound."""
        changes = load(GridUpdateIn(exclude=("version",)), changes)
        current = self._live_grid(code, caller, version)
        merged = {**grids.view(current, True), **changes, "code": code}
        problems, shape = grids.judge(merged)
        if problems:
            raise ValidationFailed(details=problems)
        at = Stamp(self.clock.now(), caller.actor)
        doc = grids.record(code, grids.fields(merged, shape), at, current)

        def work(session):
            grids.require_placed(self.store, code, shape, session)
            self._save_grid(session, doc, "updated")

        self.store.transaction(work)
        self.outbox.wake()
        self.grid_index.put(code, doc.get("boundary"), doc["version"])
        return grids.view(doc, True)

    @grid_rpc
    def retire_grid(self, code: str, version: int, *, caller: Caller) -> dict:
        """Retire a grid that has no live children, households or posts (its code is kept
        and never reused). A grid outside the caller's scopes is NotFound."""
        current = self._live_grid(code, caller, version, retired_ok=True)
        if current.get("retired"):
            return grids.view(current)
        busy = {
            "children": len(self.store.children(code)),
            "households": len(self.store.household_grid_codes(code)),
            "posts": len(self.store.posts_of_grid(code)),
        }
        if any(busy.values()):
            raise ValidationFailed(
                f"grid {code} still has children, households or posts",
                details={"code": code, **busy},
            )
        now = self.clock.now()
        doc = grids.record(code, {"retired": True}, Stamp(now, caller.actor), current)
        self.store.transaction(lambda session: self._save_grid(session, doc, "retired"))
        self.outbox.wake()
        self.grid_index.put(code, None, doc["version"])
        return grids.view(doc)

    def _live_grid(self, code: str, caller: Caller, version: int, retired_ok=False) -> dict:
        caller.require_visible(code, "grid_code")
        current = self._grid_or_404(code)
        if current.get("version") != version:
            raise Conflict(details={"current": grids.view(current, True)})
        if current.get("retired") and not retired_ok:
            raise ValidationFailed(details={"code": f"grid {code} is retired"})
        return current

    def _save_grid(self, session, doc: dict, change: str) -> None:
        stored = lambda: self.store.grid(doc["_id"], session=session)  # noqa: E731
        with versions.conflict_shows(lambda: grids.view(stored(), True)):
            grids.save(self.store, self.outbox, session, [(doc, change)])

    @grid_rpc
    def get_grid(self, code: str, boundary: bool = False, *, caller: Caller) -> dict:
        """One grid with its chain of parents (names): {…, chain: [{code, name, level}]}.
        A grid outside the caller's scopes is NotFound."""
        caller.require_visible(code, "grid_code")
        out = grids.view(self._grid_or_404(code), boundary)
        out["chain"] = grids.chain(self.store, code)
        return out

    @grid_rpc
    def list_grids(self, prefix: str | None = None, level: int | None = None, *, caller: Caller):
        """Grids (no boundaries) under `prefix` and inside the caller's scopes; without a
        prefix, every grid in them."""
        found = []
        for scope in caller.prefixes(prefix):
            found += [grids.view(d) for d in self.store.grids_under(scope, level)]
        return found

    @grid_rpc
    def grid_geojson(self, code: str, depth: int = 1, *, caller: Caller) -> dict:
        """FeatureCollection: the grid and its descendants `depth` levels down, for the map
        (properties: code, name, level, kind, role 'self' | 'child'). NotFound outside the
        caller's scopes."""
        caller.require_visible(code, "grid_code")
        level = self._grid_or_404(code)["level"]
        features = []
        for g in self.store.grids_under(code):
            if g["level"] > level + depth or not g.get("boundary"):
                continue
            properties = {k: g.get(k) for k in ("name", "level", "kind", "dedicated_kind")}
            properties.update(code=g["_id"], role="self" if g["_id"] == code else "child")
            features.append(
                {"type": "Feature", "geometry": g["boundary"], "properties": properties}
            )
        return {"type": "FeatureCollection", "features": features}

    @grid_rpc
    def grid_cover(self, code: str, *, caller: Caller) -> dict:
        """How much of a grid its children leave uncovered: {code, children, uncovered_share,
        uncovered_m2}. NotFound outside the caller's scopes."""
        caller.require_visible(code, "grid_code")
        doc = self._grid_or_404(code)
        if not doc.get("boundary"):
            raise ValidationFailed(details={"code": f"grid {code} has no boundary"})
        parent = geometry.polygon_of(doc["boundary"])
        children = [
            geometry.polygon_of(c["boundary"])
            for c in self.store.children(code)
            if c.get("boundary")
        ]
        share = geometry.uncovered_share(parent, children)
        return {
            "code": code,
            "children": len(children),
            "uncovered_share": round(share, 6),
            "uncovered_m2": round(share * geometry.area_m2(parent), 1),
        }

    @grid_rpc
    def locate(self, lon: float, lat: float) -> dict:
        """Point -> deepest grid containing it and its chain of parents:
        {code, name, level, chain: [{code, name, level}]}; NotFound outside every grid."""
        try:
            lon, lat = float(lon), float(lat)
        except (TypeError, ValueError):
            raise ValidationFailed(details={"point": "numbers lon, lat"}) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationFailed(details={"point": f"({lon}, {lat}) is out of range"})
        found = self.grid_index.locate(lon, lat)
        if found is None:
            raise NotFound(details={"point": [lon, lat]})
        chain = grids.chain(self.store, found.code)
        return {**chain[-1], "chain": chain}

    @grid_rpc
    def grid_warnings(self, prefix: str, *, caller: Caller) -> list:
        """Grid-rule warnings for every grid under `prefix`: [{code, rule, message}]
        (level-1 outside 300–500 households, level-3 far from 30, under one full-time worker
        per 100 households, a level-2/3 grid without an A or B post, no grid leader).
        A prefix outside the caller's scopes is NotFound."""
        caller.require_visible(prefix, "code")
        counts: Counter = Counter()
        for grid_code in self.store.household_grid_codes(prefix):
            for ancestor in domain.grid_ancestors(grid_code):
                counts[ancestor] += 1
        by_grid = defaultdict(list)
        for p in self.store.posts_under(prefix):
            by_grid[p["grid_code"]].append(p)
        out = []
        for g in self.store.grids_under(prefix):
            grid = {"code": g["_id"], "level": g["level"], "kind": g.get("kind")}
            for w in domain.grid_warnings(grid, counts[g["_id"]], by_grid[g["_id"]]):
                out.append(
                    {"code": w.code, "name": g["name"], "rule": w.rule, "message": w.message}
                )
        return out

    @grid_rpc
    def notice_board(self, code: str, *, caller: Caller) -> dict:
        """Public notice board (公示牌): grid name and the names, posts and phones of the
        staff of the grid and the grids above it; nothing else. The public endpoint asks as
        `Caller.trusted("gateway")` (every grid's board is public); any other caller sees
        the boards of grids in their scopes (else NotFound)."""
        caller.require_visible(code, "grid_code")
        doc = self._grid_or_404(code)
        chain = domain.grid_ancestors(code)
        names = {g["_id"]: g["name"] for g in self.store.grids_by_codes(chain).values()}
        staff = [posts.board_entry(p, names, self.vault) for p in self.store.posts_of_grids(chain)]
        staff.sort(key=lambda s: (len(s["grid_code"]), s["grid_code"], s["post"], s["ab"] or ""))
        return {"code": code, "name": doc["name"], "level": doc["level"], "staff": staff}
