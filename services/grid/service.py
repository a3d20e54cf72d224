"""The grid registry service: places, grids on a map, household files, staff posts and
visit duties. RPC interface listed with example payloads in services/grid/README.md.

Calls that touch resident data take the caller's `scopes` (code prefixes), `roles` and
`actor` (user id): a record outside the scopes is NotFound, never its data. Registry
calls (grids, divisions, posts, reserve, party units, imports, audit) take `scopes` too,
as defence in depth behind the gateway: a grid outside them is NotFound, creating a grid
or division outside them is Forbidden, an import row outside them fails the import. Only
the public notice board and the dispatch answer `on_duty` take `scopes=None` to mean a
trusted internal caller (another service, the demo loader).
"""

from __future__ import annotations

import base64
import logging
import os
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from nameko.dependency_providers import Config
from nameko.events import BROADCAST, event_handler
from nameko.rpc import rpc

from contracts import grid_vocabulary as vocabulary
from contracts.errors import Conflict, Forbidden, NotFound, ValidationFailed
from contracts.grid import GRID_CHANGED, HOUSEHOLD_CHANGED, STAFF_ASSIGNED, VISIT_LOGGED
from contracts.scope import in_scope
from services.grid import domain, exporting, geometry, importing
from services.grid.locating import GridIndex, GridIndexProvider
from services.grid.storage import GridStorage, GridStore, new_id
from services.kit.clock import Clock, ClockProvider
from services.kit.outbox import Outbox, OutboxWriter

log = logging.getLogger(__name__)

# Development default; set GRID_ID_KEY (32+ random bytes, hex or text) in any real deployment.
DEV_ID_KEY = "lianxin-dev-id-key-not-for-production"


def id_key(config: dict | None = None) -> bytes:
    value = (config or {}).get("GRID_ID_KEY") or os.environ.get("GRID_ID_KEY") or DEV_ID_KEY
    return value.encode()


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def grid_out(doc: dict, with_boundary: bool = False) -> dict:
    out = {
        "code": doc["_id"],
        "name": doc["name"],
        "level": doc["level"],
        "parent": doc["parent"],
        "village": doc["village"],
        "kind": doc.get("kind", "comprehensive"),
        "dedicated_kind": doc.get("dedicated_kind"),
        "version": doc.get("version", 1),
        "retired": bool(doc.get("retired")),
        "updated_at": _iso(doc.get("updated_at")),
    }
    if with_boundary:
        out["boundary"] = doc.get("boundary")
    return out


def post_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "user_id": doc["user_id"],
        "username": doc.get("username"),
        "display_name": doc.get("display_name"),
        "phone": doc.get("phone"),
        "post": doc["post"],
        "post_zh": domain.POST_NAMES_ZH.get(doc["post"], doc["post"]),
        "ab": doc.get("ab"),
        "absent": bool(doc.get("absent")),
    }


def place_out(doc: dict, unmasked: bool) -> dict:
    contact = dict(doc.get("contact") or {})
    if not unmasked:
        contact["phone"] = domain.mask_phone(contact.get("phone"))
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "kind": doc["kind"],
        "element": domain.PLACE_ELEMENTS.get(doc["kind"]),
        "name": doc["name"],
        "address": doc.get("address"),
        "location": doc.get("location"),
        "contact": contact,
        "note": doc.get("note"),
        "version": doc.get("version", 1),
    }


def visit_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "household_id": doc["household_id"],
        "grid_code": doc["grid_code"],
        "worker_id": doc["worker_id"],
        "kind": doc["kind"],
        "occurred_at": _iso(doc["occurred_at"]),
        "recorded_at": _iso(doc.get("recorded_at")),
        "findings": doc.get("findings", {}),
        "case_draft": doc.get("case_draft"),
        "note": doc.get("note"),
    }


class GridService:
    name = "grid"

    store: GridStore = GridStorage()
    outbox: OutboxWriter = Outbox("grid")
    clock: Clock = ClockProvider()
    grid_index: GridIndex = GridIndexProvider()
    config = Config()

    @rpc
    def health(self) -> dict:
        """{service, ok}; raises when the database does not answer."""
        self.store.ping()
        return {"service": self.name, "ok": True}

    # ===================================================================================
    # divisions
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

    # ===================================================================================
    # grids
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

    # ===================================================================================
    # households
    @rpc
    def create_household(
        self, data: dict, client_id: str, actor: str, roles: list, scopes: list
    ) -> dict:
        """Open a household file. data: {grid_code, address: {building, unit, room},
        members: [{name, relation, id_number?, phone?, birth_date?, gender?}],
        housing: {tenure: owned|rented|other, landlord?, landlord_phone?}, tags: [...],
        note?}. Exactly one member has relation 'head'."""
        self._require_scope(str(data.get("grid_code") or ""), scopes)
        now = self.clock.now()
        self._check_household(data, now)
        body = {"data": data, "actor": actor}

        def execute(session):
            self._require_live_grid(data["grid_code"], session)
            fields = domain.household_fields(data, None, self._key(), new_id)
            doc = {
                "_id": new_id(),
                **fields,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by": actor,
                "last_visit_at": None,
                "last_care_at": None,
            }
            self.store.insert_household(doc, session=session)
            self._household_event(session, doc, "created")
            return {"id": doc["_id"]}

        result = self.store.run_command("create_household", client_id, body, execute)
        self.outbox.wake()
        return self._household_for(result["id"], actor, roles, scopes)

    @rpc
    def update_household(
        self,
        household_id: str,
        changes: dict,
        version: int,
        actor: str,
        roles: list,
        scopes: list,
    ) -> dict:
        """Change a household file based on `version`. Fields as in create (members carry
        their `id`; a masked ID number or phone keeps the stored one). A stale version is
        Conflict with details {current: the file as stored now}."""
        current = self._household_in_scope(household_id, scopes)
        if current.get("version") != version:
            raise Conflict(details={"current": self._view(current, actor, roles)})
        merged = self._household_input(current)
        merged.update({k: v for k, v in changes.items() if k in merged})
        self._require_scope(merged["grid_code"], scopes)
        now = self.clock.now()
        self._check_household(merged, now)
        fields = domain.household_fields(merged, current, self._key(), new_id)
        if not domain.household_changed(current, fields):
            return self._view(current, actor, roles)

        def work(session):
            self._require_live_grid(fields["grid_code"], session)
            updated = self.store.update_household(
                household_id, version, {**fields, "updated_at": now}, session=session
            )
            if updated is None:
                raise Conflict(
                    details={
                        "current": self._view(self.store.household(household_id), actor, roles)
                    }
                )
            self._household_event(session, updated, "updated")
            return updated

        updated = self.store.transaction(work)
        self.outbox.wake()
        return self._view(updated, actor, roles)

    @rpc
    def get_household(self, household_id: str, actor: str, roles: list, scopes: list) -> dict:
        """One household file; phones unmasked only for roles that need them (each such
        read is audited). ID numbers are always masked (only a keyed hash is stored)."""
        return self._view(self._household_in_scope(household_id, scopes), actor, roles)

    @rpc
    def search_households(
        self,
        scopes: list,
        name: str | None = None,
        tag: str | None = None,
        building: str | None = None,
        grid_code: str | None = None,
        limit: int = 50,
        skip: int = 0,
    ) -> list:
        """Household lines in scope, by member name prefix, tag, building or grid:
        [{id, grid_code, address, label, head, members, tags, version, last_visit_at}]."""
        if tag and tag not in vocabulary.HOUSEHOLD_TAGS:
            raise ValidationFailed(details={"tag": f"one of {list(vocabulary.HOUSEHOLD_TAGS)}"})
        docs = self.store.search_households(
            scopes, name or None, tag, building or None, grid_code, min(int(limit), 200), int(skip)
        )
        return [domain.household_line(d) for d in docs]

    @rpc
    def find_by_id_number(self, id_number: str, actor: str, roles: list, scopes: list) -> list:
        """Households in scope with a member of this ID number (looked up by keyed hash)."""
        problem = domain.id_number_problem(id_number)
        if problem:
            raise ValidationFailed(details={"id_number": problem})
        digest = domain.id_lookup_hash(id_number, self._key())
        docs = self.store.households_by_id_hash(digest, scopes)
        self._audit("id_lookup", actor, roles, None, count=len(docs))
        return [domain.household_line(d) for d in docs]

    # ===================================================================================
    # places and organisations (five-element archive)
    @rpc
    def create_place(
        self, data: dict, client_id: str, actor: str, roles: list, scopes: list
    ) -> dict:
        """Record a place or organisation in a grid: {grid_code, kind, name, address?,
        location?: [lon, lat], contact?: {person, phone}, note?}."""
        self._require_scope(str(data.get("grid_code") or ""), scopes)
        problems = domain.check_place(data)
        if problems:
            raise ValidationFailed(details=problems)
        now = self.clock.now()
        body = {"data": data, "actor": actor}

        def execute(session):
            grid = self._require_live_grid(data["grid_code"], session)
            self._check_place_location(data, grid)
            doc = {"_id": new_id(), **self._place_fields(data), "version": 1, "created_at": now}
            self.store.insert_place(doc, session=session)
            return {"id": doc["_id"]}

        result = self.store.run_command("create_place", client_id, body, execute)
        doc = self.store.place(result["id"])
        return place_out(doc, self._unmask(actor, roles, doc["grid_code"], "place"))

    @rpc
    def update_place(
        self, place_id: str, changes: dict, version: int, actor: str, roles: list, scopes: list
    ) -> dict:
        """Change a place record based on `version` (stale: Conflict with the current one)."""
        current = self.store.place(place_id)
        if current is None or not in_scope(current["grid_code"], scopes):
            raise NotFound(details={"place_id": place_id})
        if current["version"] != version:
            raise Conflict(details={"current": place_out(current, False)})
        merged = {**place_out(current, True), **changes}
        self._require_scope(merged["grid_code"], scopes)
        if domain.is_masked((merged.get("contact") or {}).get("phone")):
            merged["contact"] = {**merged["contact"], "phone": current["contact"].get("phone")}
        problems = domain.check_place(merged)
        if problems:
            raise ValidationFailed(details=problems)
        grid = self._require_live_grid(merged["grid_code"])
        self._check_place_location(merged, grid)
        updated = self.store.update_place(place_id, version, self._place_fields(merged))
        if updated is None:
            raise Conflict(details={"current": place_out(self.store.place(place_id), False)})
        return place_out(updated, self._unmask(actor, roles, updated["grid_code"], "place"))

    @rpc
    def get_place(self, place_id: str, actor: str, roles: list, scopes: list) -> dict:
        """One place or organisation record; NotFound outside `scopes`. The contact phone is
        unmasked only for roles that need it (such a read is audited)."""
        doc = self.store.place(place_id)
        if doc is None or not in_scope(doc["grid_code"], scopes or []):
            raise NotFound(details={"place_id": place_id})
        return place_out(doc, self._unmask(actor, roles, doc["grid_code"], "place", place_id))

    @rpc
    def list_places(
        self, grid_code: str, scopes: list, kind: str | None = None, roles: list | None = None
    ) -> list:
        """Places and organisations under a grid (contact phones masked in lists)."""
        self._require_scope(grid_code, scopes)
        return [place_out(d, False) for d in self.store.places_under(grid_code, kind)]

    # ===================================================================================
    # staff posts, reserve team, party overlay
    @rpc
    def assign_post(self, data: dict, actor: str | None = None, *, scopes: list) -> dict:
        """Put a user in a post on a grid: {grid_code, user_id, post, ab?: 'A'|'B',
        display_name, phone?, username?}. Idempotent: the same assignment twice is one.
        A grid outside `scopes` is NotFound."""
        self._require_scope(str(data.get("grid_code") or ""), scopes)
        grid = self._grid_or_404(str(data.get("grid_code") or ""))
        problems = domain.check_post(data, grid["level"])
        if problems:
            raise ValidationFailed(details=problems)
        doc = self._post_doc(data)

        def work(session):
            change = self.store.put_post(doc, session=session)
            if change != "unchanged":
                self._staff_event(session, doc, "assigned")
            return change

        change = self.store.transaction(work)
        self.outbox.wake()
        return {**post_out(self.store.post(doc["_id"])), "change": change}

    @rpc
    def remove_post(
        self, grid_code: str, user_id: str, post: str, actor: str | None = None, *, scopes: list
    ):
        """End a user's post on a grid. NotFound when there is no such post or the grid lies
        outside `scopes`."""
        self._require_scope(grid_code, scopes)
        doc = self.store.post(f"{grid_code}|{user_id}|{post}")
        if doc is None:
            raise NotFound(details={"grid_code": grid_code, "user_id": user_id, "post": post})

        def work(session):
            self.store.delete_post(doc["_id"], session=session)
            self._staff_event(session, doc, "removed")

        self.store.transaction(work)
        self.outbox.wake()
        return {"removed": True}

    @rpc
    def set_absent(
        self, grid_code: str, user_id: str, absent: bool, actor: str | None = None, *, scopes: list
    ):
        """Mark a worker absent (B takes over) or back; answers the grid's on-duty worker.
        A grid outside `scopes` is NotFound."""
        self._require_scope(grid_code, scopes)
        posts = [p for p in self.store.posts_of_grid(grid_code) if p["user_id"] == user_id]
        if not posts:
            raise NotFound(details={"grid_code": grid_code, "user_id": user_id})

        def work(session):
            self.store.set_absent(grid_code, user_id, bool(absent), session=session)
            for p in posts:
                self._staff_event(session, p, "absent" if absent else "present")

        self.store.transaction(work)
        self.outbox.wake()
        try:
            return self.on_duty(grid_code, scopes=scopes)
        except NotFound:  # the absence is saved; nobody is left to take over
            return {"grid_code": grid_code, "user_id": None, "path": []}

    @rpc
    def list_posts(self, grid_code: str, subtree: bool = False, *, scopes: list) -> list:
        """Posts on a grid (or, with subtree, on it and every grid under it). NotFound
        outside `scopes`."""
        self._require_scope(grid_code, scopes)
        self._grid_or_404(grid_code)
        docs = self.store.posts_under(grid_code) if subtree else self.store.posts_of_grid(grid_code)
        return [post_out(p) for p in docs]

    @rpc
    def posts_of_user(self, user_id: str) -> list:
        """Every post a user holds: [{grid_code, post, ab, absent, …}]."""
        return [post_out(p) for p in self.store.posts_of_user(user_id)]

    @rpc
    def on_duty(self, grid_code: str, scopes: list | None = None) -> dict:
        """Who handles grid X now (for dispatch): A, or B while A is absent, walking up to
        the level-1 leader when a level has nobody present.
        {grid_code, user_id, display_name, phone, post, ab, handled_at, path}; NotFound if
        nobody is on duty anywhere up the chain.

        `scopes=None` (the default) means a trusted internal caller such as case dispatch,
        which must reach any grid; with scopes (a user or API key through the gateway), a
        grid outside them is NotFound."""
        if scopes is not None:
            self._require_scope(grid_code, scopes)
        self._grid_or_404(grid_code)
        chain = domain.grid_ancestors(grid_code)
        posts = self.store.posts_of_grids(chain)
        by_grid: dict[str, list] = defaultdict(list)
        for p in posts:
            by_grid[p["grid_code"]].append(p)
        found = domain.resolve_on_duty(grid_code, by_grid)
        if found is None:
            raise NotFound(
                f"nobody is on duty for grid {grid_code}", details={"grid_code": grid_code}
            )
        post = next(
            p
            for p in by_grid[found.grid_code]
            if p["user_id"] == found.user_id and p["post"] == found.post
        )
        return {
            "grid_code": grid_code,
            "user_id": found.user_id,
            "display_name": post.get("display_name"),
            "phone": post.get("phone"),
            "post": found.post,
            "ab": found.ab,
            "handled_at": found.grid_code,
            "path": list(found.path),
        }

    @rpc
    def add_reserve_member(
        self, grid_code: str, data: dict, actor: str | None = None, *, scopes: list
    ) -> dict:
        """Add someone to a level-1 grid's emergency reserve team (应急预备队):
        {name, phone?, kind: b_post|party_member|cadre|veteran|volunteer|doctor|police|other,
        user_id?}. The same name and kind twice is one member. NotFound outside `scopes`."""
        self._require_scope(grid_code, scopes)
        grid = self._grid_or_404(grid_code)
        problems = {}
        if grid["level"] != 1:
            problems["grid_code"] = "the reserve team belongs to a level-1 grid"
        if data.get("kind") not in vocabulary.RESERVE_KINDS:
            problems["kind"] = f"one of {list(vocabulary.RESERVE_KINDS)}"
        if not str(data.get("name") or "").strip():
            problems["name"] = "required"
        if data.get("phone") and not domain.PHONE.match(str(data["phone"])):
            problems["phone"] = "a mobile (11 digits) or landline number"
        if problems:
            raise ValidationFailed(details=problems)
        doc = {
            "_id": f"{grid_code}|{data['kind']}|{data['name'].strip()}",
            "grid_code": grid_code,
            "name": data["name"].strip(),
            "kind": data["kind"],
            "phone": data.get("phone"),
            "user_id": data.get("user_id"),
        }
        change = self.store.put_reserve(doc)
        return {**self._reserve_out(doc), "change": change}

    @rpc
    def remove_reserve_member(
        self, grid_code: str, member_id: str, actor: str | None = None, *, scopes: list
    ):
        """Take someone off a level-1 grid's reserve team; NotFound if not on it or the grid
        lies outside `scopes`."""
        self._require_scope(grid_code, scopes)
        if not member_id.startswith(grid_code + "|") or not self.store.delete_reserve(member_id):
            raise NotFound(details={"grid_code": grid_code, "member_id": member_id})

    @rpc
    def list_reserve(self, grid_code: str, scopes: list) -> list:
        """The reserve team of a level-1 grid."""
        self._require_scope(grid_code, scopes)
        return [self._reserve_out(d) for d in self.store.reserve_of(grid_code)]

    @rpc
    def set_party_unit(
        self, grid_code: str, data: dict, actor: str | None = None, *, scopes: list
    ) -> dict:
        """Set the party branch or group on a grid (支部建在网格上):
        {kind: branch|group, name, secretary?: display name, secretary_user_id?}. NotFound
        outside `scopes`."""
        self._require_scope(grid_code, scopes)
        self._grid_or_404(grid_code)
        if data.get("kind") not in ("branch", "group") or not str(data.get("name") or "").strip():
            raise ValidationFailed(details={"kind": "branch or group", "name": "required"})
        doc = {
            "_id": grid_code,
            "kind": data["kind"],
            "name": data["name"].strip(),
            "secretary": data.get("secretary"),
            "secretary_user_id": data.get("secretary_user_id"),
        }
        self.store.put_party_unit(doc)
        return {"grid_code": grid_code, **{k: v for k, v in doc.items() if k != "_id"}}

    @rpc
    def link_party_member(
        self, grid_code: str, member: dict, household_ids: list, actor: str, scopes: list
    ) -> dict:
        """Link a party member to the households they serve (党员联户):
        member {name, user_id?, phone?}; replaces that member's links in the grid."""
        self._require_scope(grid_code, scopes)
        self._grid_or_404(grid_code)
        name = str(member.get("name") or "").strip()
        if not name:
            raise ValidationFailed(details={"member.name": "required"})
        missing = []
        for hid in household_ids:
            doc = self.store.household(hid)
            if doc is None or not doc["grid_code"].startswith(grid_code):
                missing.append(hid)
        if missing:
            raise ValidationFailed(
                details={"household_ids": f"not households of grid {grid_code}: {missing}"}
            )
        key = member.get("user_id") or name
        doc = {
            "_id": f"{grid_code}|{key}",
            "grid_code": grid_code,
            "member_name": name,
            "member_user_id": member.get("user_id"),
            "member_phone": member.get("phone"),
            "household_ids": sorted(set(household_ids)),
        }
        self.store.put_party_link(doc)
        return {"grid_code": grid_code, "member": name, "households": len(doc["household_ids"])}

    @rpc
    def unlink_party_member(
        self, grid_code: str, member_key: str, actor: str | None = None, *, scopes: list
    ) -> dict:
        """Remove a party member's household links in a grid (the inverse of
        link_party_member). `member_key` is the member's user id when they were linked with
        one, else their name (`member_key` in party_overlay's links). NotFound when there is
        no such link or the grid lies outside `scopes`."""
        self._require_scope(grid_code, scopes)
        link_id = f"{grid_code}|{member_key}"
        if not member_key or not self.store.delete_party_link(link_id):
            raise NotFound(details={"grid_code": grid_code, "member_key": member_key})
        return {"removed": True}

    @rpc
    def party_overlay(self, code: str, scopes: list) -> dict:
        """Party units on grids under `code` and the party members' household links:
        {units: [{grid_code, kind, name, secretary}], links: [{grid_code, member, households:
        [{id, label}]}]}."""
        self._require_scope(code, scopes)
        units = [
            {
                "grid_code": u["_id"],
                "kind": u["kind"],
                "name": u["name"],
                "secretary": u.get("secretary"),
            }
            for u in self.store.party_units_under(code)
        ]
        links = []
        for link in self.store.party_links_under(code):
            households = []
            for hid in link["household_ids"]:
                doc = self.store.household(hid)
                if doc:
                    households.append({"id": hid, "label": domain.address_label(doc["address"])})
            links.append(
                {
                    "grid_code": link["grid_code"],
                    "member": link["member_name"],
                    "member_key": link.get("member_user_id") or link["member_name"],
                    "households": households,
                }
            )
        return {"units": units, "links": links}

    # ===================================================================================
    # visits and duties
    @rpc
    def log_visit(self, data: dict, client_id: str, actor: str, roles: list, scopes: list):
        """Log a home visit by `actor`: {household_id, kind: routine|care|wartime,
        occurred_at (ISO, with zone; default now), findings?: {opinions: [..], hazards: [..],
        disputes: [..]}, case_draft?: {title, description, category}, note?}. Sent again with
        the same client_id it is recorded once."""
        now = self.clock.now()
        problems = domain.check_visit(data, now)
        if problems:
            raise ValidationFailed(details=problems)
        household = self._household_in_scope(str(data["household_id"]), scopes)
        occurred = domain.parse_time(data["occurred_at"]) if data.get("occurred_at") else now
        body = {"data": data, "actor": actor}

        def execute(session):
            doc = {
                "_id": new_id(),
                "client_id": client_id,
                "household_id": household["_id"],
                "grid_code": household["grid_code"],
                "worker_id": actor,
                "kind": data["kind"],
                "occurred_at": occurred,
                "recorded_at": now,
                "findings": {k: list(v) for k, v in (data.get("findings") or {}).items()},
                "case_draft": data.get("case_draft"),
                "note": data.get("note"),
            }
            self.store.insert_visit(doc, session=session)
            self.store.mark_visited(household["_id"], occurred, data["kind"] == "care", session)
            self.outbox.record(
                session,
                VISIT_LOGGED,
                {
                    "visit_id": doc["_id"],
                    "household_id": doc["household_id"],
                    "grid_code": doc["grid_code"],
                    "worker_user_id": actor,
                    "kind": doc["kind"],
                    "occurred_at": occurred.isoformat(),
                },
            )
            return visit_out(doc)

        result = self.store.run_command("log_visit", client_id, body, execute)
        self.outbox.wake()
        return result

    @rpc
    def list_visits(
        self,
        scopes: list,
        grid_code: str | None = None,
        household_id: str | None = None,
        worker_id: str | None = None,
        limit: int = 50,
    ) -> list:
        """Visits, newest first, by grid (prefix), household or worker, within scope."""
        query: dict[str, Any] = {}
        if household_id:
            self._household_in_scope(household_id, scopes)
            query["household_id"] = household_id
        if worker_id:
            query["worker_id"] = worker_id
        if grid_code:
            self._require_scope(grid_code, scopes)
            query["grid_code"] = {"$gte": grid_code, "$lt": grid_code + "\uffff"}
        if not query:
            raise ValidationFailed(details={"query": "grid_code, household_id or worker_id"})
        docs = self.store.visits_where(query, min(int(limit), 500))
        return [visit_out(d) for d in docs if in_scope(d["grid_code"], scopes)]

    @rpc
    def grid_coverage(self, code: str, scopes: list) -> dict:
        """Visit coverage of a grid in its duty period (quarter for level 2/3, year for
        level 1, in Asia/Shanghai): {code, name, level, period, households, visited, share,
        overdue, overdue_households: [{id, label, last_visit_at}], care_due, care_done,
        days_left}."""
        self._require_scope(code, scopes)
        grid = self._grid_or_404(code)
        now = self.clock.now()
        rows = self.store.duty_rows(code)
        result = self._coverage(grid, rows, now)
        by_id = {r["_id"]: r for r in rows}
        result["overdue_households"] = [
            {
                "id": hid,
                "grid_code": by_id[hid]["grid_code"],
                "label": domain.address_label(by_id[hid].get("address") or {}),
                "last_visit_at": _iso(by_id[hid].get("last_visit_at")),
            }
            for hid in result.pop("overdue_ids")[:200]
        ]
        return result

    @rpc
    def my_grids(self, user_id: str, scopes: list) -> list:
        """The grids a worker holds posts on, with coverage of each in its duty period:
        [{code, name, level, post, post_zh, ab, absent, coverage: {period, households,
        visited, share, overdue, care_due, care_done, days_left, visits_by_me}}]."""
        now = self.clock.now()
        out = []
        for p in self.store.posts_of_user(user_id):
            if not in_scope(p["grid_code"], scopes):
                continue
            grid = self.store.grid(p["grid_code"])
            if grid is None or grid.get("retired"):
                continue
            cov = self._coverage(grid, self.store.duty_rows(grid["_id"]), now)
            cov.pop("overdue_ids")
            period_start = datetime.fromisoformat(cov["period_start"])
            cov["visits_by_me"] = self.store.count_visits(
                {
                    "worker_id": user_id,
                    "grid_code": {"$gte": grid["_id"], "$lt": grid["_id"] + "\uffff"},
                    "occurred_at": {"$gte": period_start},
                }
            )
            out.append(
                {
                    "code": grid["_id"],
                    "name": grid["name"],
                    "level": grid["level"],
                    **{
                        k: v
                        for k, v in post_out(p).items()
                        if k in ("post", "post_zh", "ab", "absent")
                    },
                    "coverage": cov,
                }
            )
        return out

    @rpc
    def duty_board(self, code: str, scopes: list) -> dict:
        """The leader's view of a grid and everything under it: staff on duty per grid and
        coverage/overdue per grid: {code, grids: [{code, name, level, on_duty, posts,
        coverage}]}."""
        self._require_scope(code, scopes)
        self._grid_or_404(code)
        now = self.clock.now()
        grids = self.store.grids_under(code)
        rows = self.store.duty_rows(code)
        posts = defaultdict(list)
        for p in self.store.posts_under(domain.grid_ancestors(code)[0]):
            posts[p["grid_code"]].append(p)
        out = []
        for g in grids:
            mine = [r for r in rows if r["grid_code"].startswith(g["_id"])]
            cov = self._coverage(g, mine, now)
            cov.pop("overdue_ids")
            found = domain.resolve_on_duty(g["_id"], posts)
            on_duty = None
            if found:
                p = next(
                    x
                    for x in posts[found.grid_code]
                    if x["user_id"] == found.user_id and x["post"] == found.post
                )
                on_duty = {**post_out(p), "handled_at": found.grid_code}
            out.append(
                {
                    "code": g["_id"],
                    "name": g["name"],
                    "level": g["level"],
                    "on_duty": on_duty,
                    "posts": [post_out(p) for p in posts[g["_id"]]],
                    "coverage": cov,
                }
            )
        return {"code": code, "grids": out}

    # ===================================================================================
    # import, export, demo data, audit
    @rpc
    def import_file(
        self,
        kind: str,
        filename: str,
        content_b64: str,
        actor: str | None = None,
        dry_run: bool = False,
        *,
        scopes: list,
    ) -> dict:
        """Import grids (GeoJSON), households, places or staff (CSV or XLSX; UTF-8, UTF-8
        with BOM or GBK). The whole file is applied or nothing: with any bad row it raises
        ValidationFailed whose details are the report {rows, bad_rows: [{row, problems}]}.
        Importing the same file again changes nothing. `dry_run` answers the report only.

        Every row's grid code must lie in the caller's `scopes`: a file with any row outside
        them is refused whole (ValidationFailed naming each such row, also on a dry run)
        before anything else is judged or written."""
        try:
            content = base64.b64decode(content_b64, validate=True)
        except (ValueError, TypeError):
            raise ValidationFailed(details={"content_b64": "not base64"}) from None
        importer = importing.Importer(self.store, self.clock.now(), self._key())
        report = importer.run(
            kind, filename, content, actor=actor, dry_run=dry_run, scopes=list(scopes or [])
        )
        if report["bad_rows"] and not dry_run:
            raise ValidationFailed(
                f"{len(report['bad_rows'])} bad rows in {filename}; nothing was imported",
                details=report,
            )
        if report.get("applied"):
            self._after_import(importer)
        return report

    @rpc
    def export_file(
        self, kind: str, fmt: str, prefix: str, actor: str, roles: list, scopes: list
    ) -> dict:
        """Export grids (geojson), households, places or staff (csv or xlsx) under a code
        prefix in scope: {filename, content_type, content_b64, rows}. Phones are unmasked
        only for roles that need them, and such an export is audited."""
        self._require_scope(prefix, scopes)
        unmasked = domain.may_unmask(roles)
        out = exporting.export(self.store, kind, fmt, prefix, unmasked)
        if unmasked and kind in ("households", "places", "staff"):
            self._audit(
                "export_unmasked", actor, roles, None, prefix=prefix, export=kind, rows=out["rows"]
            )
        out["content_b64"] = base64.b64encode(out.pop("content")).decode()
        return out

    @rpc
    def load_dataset(self, dataset: dict, user_ids: dict | None = None) -> dict:
        """Load a dataset such as demo.demo_dataset(): {divisions, grids (FeatureCollection),
        households, places, staff}; staff usernames map to user ids through `user_ids`.
        Idempotent: loading twice changes and duplicates nothing. Answers counts."""
        importer = importing.Importer(self.store, self.clock.now(), self._key())
        summary = importer.load_dataset(dataset, user_ids or {})
        self._after_import(importer)
        return summary

    @rpc
    def list_audit(
        self, kind: str | None = None, actor: str | None = None, limit: int = 100, *, scopes: list
    ):
        """Unmasked reads and ID look-ups, newest first: [{at, kind, actor, roles, …}].

        Entries about a grid (reads) or prefix (exports) outside `scopes` are left out;
        ID look-ups name no grid and are kept."""
        query = {k: v for k, v in (("kind", kind), ("actor", actor)) if v}
        out = []
        for a in self.store.list_audit(query, min(int(limit), 1000)):
            detail = a.get("detail") or {}
            about = str(detail.get("grid_code") or detail.get("prefix") or "")
            if about and not in_scope(about, scopes or []):
                continue
            out.append({**{k: _iso(v) for k, v in a.items() if k != "_id"}, "id": a["_id"]})
        return out

    # --- keep the locate index in step across instances --------------------------------
    @event_handler("grid", GRID_CHANGED, handler_type=BROADCAST, reliable_delivery=False)
    def on_grid_changed(self, event: dict) -> None:
        payload = event.get("payload", {})
        code = payload.get("code")
        if not code or self.grid_index.known_version(code) >= int(payload.get("version", 0)):
            return
        doc = self.store.grid(code)
        if doc is not None:
            boundary = None if doc.get("retired") else doc.get("boundary")
            self.grid_index.put(code, boundary, doc["version"])

    # ===================================================================================
    # internals
    def _key(self) -> bytes:
        return id_key(getattr(self, "config", None))

    def _grid_or_404(self, code: str, session=None) -> dict:
        doc = self.store.grid(code, session=session) if code else None
        if doc is None:
            raise NotFound(details={"grid_code": code})
        return doc

    def _require_scope(self, code: str, scopes: list) -> None:
        if not code or not in_scope(code, scopes or []):
            raise NotFound(details={"grid_code": code})

    def _require_writable(self, code: str, scopes: list) -> None:
        """Creating at a code outside the scopes is refused (Forbidden), as the gateway does;
        a missing code is left to validation."""
        if code and not in_scope(code, scopes or []):
            raise Forbidden(details={"code": code, "scopes": list(scopes or [])})

    def _require_live_grid(self, code: str, session=None) -> dict:
        grid = self.store.grid(code, session=session)
        if grid is None or grid.get("retired"):
            raise ValidationFailed(details={"grid_code": f"there is no grid {code}"})
        return grid

    def _chain(self, code: str) -> list:
        docs = self.store.grids_by_codes(domain.grid_ancestors(code))
        return [
            {"code": c, "name": docs[c]["name"], "level": docs[c]["level"]}
            for c in domain.grid_ancestors(code)
            if c in docs
        ]

    def _grid_doc(self, data: dict, current: dict | None) -> dict:
        problems = domain.check_grid_fields(data)
        boundary = data.get("boundary")
        if boundary is not None:
            try:
                boundary = geometry.to_geojson(geometry.parse_boundary(boundary))
            except geometry.BoundaryError as exc:
                problems["boundary"] = exc.problem
        if problems:
            raise ValidationFailed(details=problems)
        code = data["code"]
        now = self.clock.now()
        return {
            "_id": code,
            "name": data["name"].strip(),
            "level": domain.grid_level(code),
            "parent": domain.grid_parent(code),
            "village": domain.village_of(code),
            "kind": data.get("kind") or "comprehensive",
            "dedicated_kind": data.get("dedicated_kind")
            if data.get("kind") == "dedicated"
            else None,
            "boundary": boundary,
            "version": 1 if current is None else current["version"],
            "retired": False,
            "created_at": (current or {}).get("created_at", now),
            "updated_at": now,
        }

    def _check_grid_parent(self, doc: dict, session) -> None:
        parent = doc["parent"]
        if doc["level"] == 1:
            if self.store.division(parent, session=session) is None:
                raise ValidationFailed(
                    details={"code": f"{doc['_id']}: there is no village/community {parent}"}
                )
            return
        grid = self.store.grid(parent, session=session)
        if grid is None or grid.get("retired"):
            raise ValidationFailed(
                details={"code": f"{doc['_id']}: there is no parent grid {parent}"}
            )

    def _check_geometry(self, doc: dict, session) -> None:
        if doc.get("boundary") is None:
            return
        geom = geometry.parse_boundary(doc["boundary"])
        parent_geom = None
        if doc["level"] > 1:
            parent = self.store.grid(doc["parent"], session=session)
            if parent and parent.get("boundary"):
                parent_geom = geometry.polygon_of(parent["boundary"])
        siblings = {
            s["_id"]: geometry.polygon_of(s["boundary"])
            for s in self.store.children(doc["parent"], session=session)
            if s.get("boundary") and s["_id"] != doc["_id"]
        }
        children = {
            c["_id"]: geometry.polygon_of(c["boundary"])
            for c in self.store.children(doc["_id"], session=session)
            if c.get("boundary")
        }
        problems = geometry.check_placement(
            doc["_id"], geom, parent_geom, doc["parent"], siblings, children
        )
        if problems:
            raise ValidationFailed(
                problems[0].message(),
                details={
                    "boundary": "; ".join(p.message() for p in problems),
                    "problems": [
                        {"grids": list(p.grids), "rule": p.rule, "m2": round(p.m2, 1)}
                        for p in problems
                    ],
                },
            )

    def _refresh_index_and_get(self, code: str) -> dict:
        doc = self.store.grid(code)
        self.grid_index.put(code, doc.get("boundary"), doc["version"])
        return grid_out(doc, True)

    def _grid_event(self, session, doc: dict, change: str) -> None:
        self.outbox.record(
            session,
            GRID_CHANGED,
            {
                "code": doc["_id"],
                "change": change,
                "level": doc["level"],
                "parent": doc["parent"],
                "version": doc["version"],
            },
        )

    def _household_event(self, session, doc: dict, change: str) -> None:
        self.outbox.record(
            session,
            HOUSEHOLD_CHANGED,
            {
                "household_id": doc["_id"],
                "grid_code": doc["grid_code"],
                "change": change,
                "version": doc["version"],
                "tags": doc.get("tags", []),
            },
        )

    def _staff_event(self, session, post: dict, change: str) -> None:
        self.outbox.record(
            session,
            STAFF_ASSIGNED,
            {
                "grid_code": post["grid_code"],
                "user_id": post["user_id"],
                "post": post["post"],
                "ab": post.get("ab"),
                "change": change,
            },
        )

    def _check_household(self, data: dict, now: datetime) -> None:
        today = now.astimezone(domain.LOCAL).date()
        problems = domain.check_household(data, today)
        if problems:
            raise ValidationFailed(details=problems)

    def _household_in_scope(self, household_id: str, scopes: list) -> dict:
        doc = self.store.household(household_id)
        if doc is None or not in_scope(doc["grid_code"], scopes or []):
            raise NotFound(details={"household_id": household_id})
        return doc

    def _household_input(self, doc: dict) -> dict:
        """The stored file as input again (members keep ids; masked IDs keep their hash)."""
        return {
            "grid_code": doc["grid_code"],
            "address": dict(doc["address"]),
            "members": [
                {
                    "id": m["id"],
                    "name": m["name"],
                    "relation": m.get("relation"),
                    "gender": m.get("gender"),
                    "birth_date": m.get("birth_date"),
                    "id_number": m.get("id_masked"),
                    "phone": m.get("phone"),
                }
                for m in doc["members"]
            ],
            "housing": dict(doc.get("housing") or {}),
            "tags": list(doc.get("tags", [])),
            "note": doc.get("note"),
        }

    def _household_for(self, household_id: str, actor: str, roles: list, scopes: list) -> dict:
        return self._view(self._household_in_scope(household_id, scopes), actor, roles)

    def _view(self, doc: dict, actor: str, roles: list) -> dict:
        unmasked = self._unmask(actor, roles, doc["grid_code"], "household", doc["_id"])
        return domain.household_view(doc, unmasked)

    def _unmask(self, actor, roles, grid_code, what, record_id=None) -> bool:
        if not domain.may_unmask(roles or []):
            return False
        self._audit(f"{what}_unmasked", actor, roles, record_id, grid_code=grid_code)
        return True

    def _audit(self, kind: str, actor, roles, record_id, **detail) -> None:
        self.store.write_audit(
            {
                "at": self.clock.now(),
                "kind": kind,
                "actor": actor,
                "roles": list(roles or []),
                "record_id": record_id,
                "detail": detail,
            }
        )

    def _coverage(self, grid: dict, rows: list, now: datetime) -> dict:
        period = domain.duty_period(grid["level"], now)
        duties = (
            domain.HouseholdDuty(
                id=r["_id"],
                grid_code=r["grid_code"],
                created_at=r["created_at"],
                last_visit_at=r.get("last_visit_at"),
                last_care_at=r.get("last_care_at"),
                tags=tuple(r.get("tags", [])),
            )
            for r in rows
        )
        out = domain.coverage(duties, period, now).as_dict()
        return {"code": grid["_id"], "name": grid["name"], "level": grid["level"], **out}

    def _place_fields(self, data: dict) -> dict:
        return importing.place_fields(data)

    def _check_place_location(self, data: dict, grid: dict) -> None:
        location = data.get("location")
        if location and grid.get("boundary"):
            point = geometry.Point(float(location[0]), float(location[1]))
            if not geometry.polygon_of(grid["boundary"]).intersects(point):
                raise ValidationFailed(
                    details={"location": f"{list(location)} lies outside grid {grid['_id']}"}
                )

    def _post_doc(self, data: dict) -> dict:
        return {
            "_id": f"{data['grid_code']}|{data['user_id']}|{data['post']}",
            "grid_code": data["grid_code"],
            "user_id": str(data["user_id"]),
            "username": data.get("username"),
            "display_name": data.get("display_name"),
            "phone": data.get("phone"),
            "post": data["post"],
            "ab": data.get("ab") or None,
            "absent": bool(data.get("absent", False)),
            "assigned_at": self.clock.now(),
        }

    def _reserve_out(self, doc: dict) -> dict:
        return {k: doc.get(k) for k in ("grid_code", "name", "kind", "phone", "user_id")} | {
            "id": doc["_id"]
        }

    def _after_import(self, importer: importing.Importer) -> None:
        self.outbox.wake()
        for code, boundary, version in importer.changed_grids:
            self.grid_index.put(code, boundary, version)
