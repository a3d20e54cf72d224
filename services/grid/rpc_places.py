"""Places and organisations of a grid (five-element archive, 人地事物组织)."""

from __future__ import annotations

from contracts.caller import Caller
from contracts.errors import Conflict, NotFound, ValidationFailed
from contracts.scope import in_scope
from services.grid import domain, grids
from services.grid.answers import place_out
from services.grid.base import GridBase, grid_rpc
from services.grid.storage import new_id


class PlaceRpc(GridBase):
    @grid_rpc
    def create_place(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Record a place or organisation in a grid: {grid_code, kind, name, address?,
        location?: [lon, lat], contact?: {person, phone}, note?}."""
        actor, roles, scopes = caller.actor, list(caller.roles), list(caller.scopes)
        self._require_scope(str(data.get("grid_code") or ""), scopes)
        problems = domain.check_place(data)
        if problems:
            raise ValidationFailed(details=problems)
        now = self.clock.now()
        body = {"data": data}

        def execute(session):
            grid = grids.require_live(self.store, data["grid_code"], session)
            self._check_place_location(data, grid)
            doc = {"_id": new_id(), **self._place_fields(data), "version": 1, "created_at": now}
            self.store.insert_place(doc, session=session)
            return {"id": doc["_id"]}

        result = self.store.run_command("create_place", f"{actor}:{client_id}", body, execute)
        doc = self.store.place(result["id"])
        return place_out(doc, self._unmask(actor, roles, doc["grid_code"], "place"))

    @grid_rpc
    def update_place(self, place_id: str, changes: dict, version: int, *, caller: Caller) -> dict:
        """Change a place record based on `version` (stale: Conflict with the current one)."""
        actor, roles, scopes = caller.actor, list(caller.roles), list(caller.scopes)
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
        grid = grids.require_live(self.store, merged["grid_code"])
        self._check_place_location(merged, grid)
        updated = self.store.update_place(place_id, version, self._place_fields(merged))
        if updated is None:
            raise Conflict(details={"current": place_out(self.store.place(place_id), False)})
        return place_out(updated, self._unmask(actor, roles, updated["grid_code"], "place"))

    @grid_rpc
    def get_place(self, place_id: str, *, caller: Caller) -> dict:
        """One place or organisation record; NotFound outside `scopes`. The contact phone is
        unmasked only for roles that need it (such a read is audited)."""
        doc = self.store.place(place_id)
        if doc is None or not caller.covers(doc["grid_code"]):
            raise NotFound(details={"place_id": place_id})
        unmasked = self._unmask(caller.actor, caller.roles, doc["grid_code"], "place", place_id)
        return place_out(doc, unmasked)

    @grid_rpc
    def list_places(self, grid_code: str, kind: str | None = None, *, caller: Caller) -> list:
        """Places and organisations under a grid (contact phones masked in lists)."""
        caller.require_visible(grid_code, "grid_code")
        return [place_out(d, False) for d in self.store.places_under(grid_code, kind)]
