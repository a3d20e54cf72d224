"""Divisions and grids: the registry itself, boundaries checked on every change, locate."""

from __future__ import annotations

from collections import Counter, defaultdict

from nameko.rpc import rpc

from contracts.errors import Conflict, Forbidden, NotFound, ValidationFailed
from contracts.scope import in_scope
from services.grid import domain, geometry
from services.grid.answers import grid_out
from services.grid.base import GridBase


class DivisionAndGridRpc(GridBase):
    @rpc
    def put_divisions(self, divisions: list, actor: str | None = None, *, scopes: list) -> dict:
        """Create or rename administrative divisions: [{code, name}] (codes of 2/4/6/9/12
        digits; a parent must exist or come earlier in the list). Answers counts.

        Codes below the city level (over 4 digits) must lie in `scopes` (else Forbidden);
        provinces and cities sit above every county scope and may be named."""
        for d in divisions or []:
            code = str(d.get("code") or "")
            if len(code) > 4 and not in_scope(code, scopes or []):
                raise Forbidden(details={"code": code, "scopes": list(scopes or [])})
        problems: dict[str, str] = {}
        known = {d["_id"] for d in self.store.divisions_under()}
        docs = []
        for i, d in enumerate(sorted(divisions or [], key=lambda d: len(str(d.get("code"))))):
            code, name = str(d.get("code") or ""), str(d.get("name") or "").strip()
            level = domain.division_level(code)
            parent = domain.division_parent(code) if level else None
            if not level:
                problems[f"divisions[{i}].code"] = f"{code!r}: 2, 4, 6, 9 or 12 digits"
            elif parent and parent not in known and len(parent) > 4:
                problems[f"divisions[{i}].code"] = f"{code}: its parent {parent} does not exist"
            if not name:
                problems[f"divisions[{i}].name"] = "required"
            known.add(code)
            docs.append({"_id": code, "name": name, "level": level, "parent": parent})
        if problems:
            raise ValidationFailed(details=problems)
        counts: Counter = Counter()

        def work(session):
            for doc in docs:
                counts[self.store.put_division(doc, session=session)] += 1

        self.store.transaction(work)
        return dict(counts)

    @rpc
    def list_divisions(self, prefix: str | None = None) -> list:
        """[{code, name, level, parent}] under a code prefix (all when None)."""
        return [
            {"code": d["_id"], "name": d["name"], "level": d["level"], "parent": d["parent"]}
            for d in self.store.divisions_under(prefix)
        ]

    @rpc
    def create_grid(
        self, data: dict, client_id: str, actor: str | None = None, *, scopes: list
    ) -> dict:
        """Create a grid: {code, name, kind, dedicated_kind?, boundary (GeoJSON)}.

        The code fixes level and parent; the boundary must lie inside the parent's and not
        overlap a sibling. Refused with ValidationFailed naming the grids and the overlap.
        A code outside `scopes` is Forbidden."""
        self._require_writable(str(data.get("code") or ""), scopes)
        body = {"data": data, "actor": actor}

        def execute(session):
            doc = self._grid_doc(data, None)
            self._check_grid_parent(doc, session)
            self._check_geometry(doc, session)
            self.store.insert_grid(doc, session=session)
            self._grid_event(session, doc, "created")
            return {"code": doc["_id"], "version": doc["version"]}

        result = self.store.run_command("create_grid", client_id, body, execute)
        self.outbox.wake()
        return self._refresh_index_and_get(result["code"])

    @rpc
    def update_grid(
        self, code: str, changes: dict, version: int, actor: str | None = None, *, scopes: list
    ) -> dict:
        """Rename, re-kind or redraw a grid based on `version`; a stale version is Conflict
        with the current grid in details. A grid outside `scopes` is NotFound."""
        self._require_scope(code, scopes)
        current = self._grid_or_404(code)
        if current.get("version") != version:
            raise Conflict(details={"current": grid_out(current, True)})
        merged = {**grid_out(current, True), **changes, "code": code}
        doc = self._grid_doc(merged, current)
        updates = {k: doc[k] for k in ("name", "kind", "dedicated_kind", "boundary", "updated_at")}

        def work(session):
            self._check_geometry(doc, session)
            updated = self.store.update_grid(code, version, updates, session=session)
            if updated is None:
                raise Conflict(details={"current": grid_out(self.store.grid(code), True)})
            self._grid_event(session, updated, "updated")
            return updated

        updated = self.store.transaction(work)
        self.outbox.wake()
        self.grid_index.put(code, updated.get("boundary"), updated["version"])
        return grid_out(updated, True)

    @rpc
    def retire_grid(
        self, code: str, version: int, actor: str | None = None, *, scopes: list
    ) -> dict:
        """Retire a grid that has no live children, households or posts (its code is kept
        and never reused). A grid outside `scopes` is NotFound."""
        self._require_scope(code, scopes)
        current = self._grid_or_404(code)
        if current.get("version") != version:
            raise Conflict(details={"current": grid_out(current, True)})
        if current.get("retired"):
            return grid_out(current)
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

        def work(session):
            updated = self.store.update_grid(
                code, version, {"retired": True, "updated_at": now}, session=session
            )
            if updated is None:
                raise Conflict(details={"current": grid_out(self.store.grid(code), True)})
            self._grid_event(session, updated, "retired")
            return updated

        updated = self.store.transaction(work)
        self.outbox.wake()
        self.grid_index.put(code, None, updated["version"])
        return grid_out(updated)

    @rpc
    def get_grid(self, code: str, boundary: bool = False, *, scopes: list) -> dict:
        """One grid with its chain of parents (names): {…, chain: [{code, name, level}]}.
        A grid outside `scopes` is NotFound."""
        self._require_scope(code, scopes)
        doc = self._grid_or_404(code)
        out = grid_out(doc, boundary)
        out["chain"] = self._chain(code)
        return out

    @rpc
    def list_grids(self, prefix: str, level: int | None = None, scopes: list | None = None) -> list:
        """Grids under a code prefix (no boundaries); with `scopes`, only those in scope."""
        docs = self.store.grids_under(prefix, level)
        if scopes is not None:
            docs = [d for d in docs if in_scope(d["_id"], scopes)]
        return [grid_out(d) for d in docs]

    @rpc
    def grid_geojson(self, code: str, depth: int = 1, *, scopes: list) -> dict:
        """FeatureCollection: the grid and its descendants `depth` levels down, for the map
        (properties: code, name, level, kind, role 'self' | 'child'). NotFound outside
        `scopes`."""
        self._require_scope(code, scopes)
        doc = self._grid_or_404(code)
        level = doc["level"]
        features = []
        for g in self.store.grids_under(code):
            if g["level"] > level + depth or not g.get("boundary"):
                continue
            features.append(
                {
                    "type": "Feature",
                    "geometry": g["boundary"],
                    "properties": {
                        "code": g["_id"],
                        "name": g["name"],
                        "level": g["level"],
                        "kind": g.get("kind"),
                        "dedicated_kind": g.get("dedicated_kind"),
                        "role": "self" if g["_id"] == code else "child",
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}

    @rpc
    def grid_cover(self, code: str, *, scopes: list) -> dict:
        """How much of a grid its children leave uncovered: {code, children, uncovered_share,
        uncovered_m2}. NotFound outside `scopes`."""
        self._require_scope(code, scopes)
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

    @rpc
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
        chain = self._chain(found.code)
        return {**chain[-1], "chain": chain}

    @rpc
    def grid_warnings(self, prefix: str, *, scopes: list) -> list:
        """Grid-rule warnings for every grid under `prefix`: [{code, rule, message}]
        (level-1 outside 300–500 households, level-3 far from 30, under one full-time worker
        per 100 households, a level-2/3 grid without an A or B post, no grid leader).
        A prefix outside `scopes` is NotFound."""
        self._require_scope(prefix, scopes)
        grids = self.store.grids_under(prefix)
        counts: Counter = Counter()
        for grid_code in self.store.household_grid_codes(prefix):
            for ancestor in domain.grid_ancestors(grid_code):
                counts[ancestor] += 1
        posts = defaultdict(list)
        for p in self.store.posts_under(prefix):
            posts[p["grid_code"]].append(p)
        out = []
        for g in grids:
            grid = {"code": g["_id"], "level": g["level"], "kind": g.get("kind")}
            for w in domain.grid_warnings(grid, counts[g["_id"]], posts[g["_id"]]):
                out.append(
                    {"code": w.code, "name": g["name"], "rule": w.rule, "message": w.message}
                )
        return out

    @rpc
    def notice_board(self, code: str, scopes: list | None = None) -> dict:
        """Public notice board (公示牌), no login: grid name and the names, posts and phones
        of the staff of the grid and the grids above it; nothing else.

        `scopes=None` (the default) means a trusted caller: the public endpoint, which shows
        every grid's board. With scopes, a grid outside them is NotFound."""
        if scopes is not None:
            self._require_scope(code, scopes)
        doc = self._grid_or_404(code)
        chain = domain.grid_ancestors(code)
        names = {g["_id"]: g["name"] for g in self.store.grids_by_codes(chain).values()}
        staff = []
        for p in self.store.posts_of_grids(chain):
            staff.append(
                {
                    "grid_code": p["grid_code"],
                    "grid_name": names.get(p["grid_code"]),
                    "name": p.get("display_name"),
                    "post": p["post"],
                    "post_zh": domain.POST_NAMES_ZH.get(p["post"], p["post"]),
                    "ab": p.get("ab"),
                    "phone": p.get("phone"),
                }
            )
        staff.sort(key=lambda s: (len(s["grid_code"]), s["grid_code"], s["post"], s["ab"] or ""))
        return {"code": code, "name": doc["name"], "level": doc["level"], "staff": staff}
