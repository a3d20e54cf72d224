"""Places and organisations of a grid (five-element archive, 人地事物组织). The rules, the
record and its view are in places.py; these RPCs check scope and write through it."""

from __future__ import annotations

from contracts.caller import Caller
from contracts.errors import Conflict, ValidationFailed
from contracts.grid_http import PlaceCreateIn, PlaceUpdateIn
from services.grid import audit, grids, places, versions
from services.grid.base import GridBase, grid_rpc
from services.grid.storage import new_id
from services.grid.versions import Stamp
from services.kit.inputs import load


class PlaceRpc(GridBase):
    @grid_rpc
    def create_place(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """Record a place or organisation in a grid: {grid_code, kind, name, address?,
        location?: [lon, lat], contact?: {person, phone}, note?}; the location must lie
        inside the grid. A grid outside the caller's scopes is NotFound."""
        data = load(PlaceCreateIn(), data)
        caller.require_visible(data["grid_code"], "grid_code")
        self._place_valid(data)
        now = self.clock.now()

        def execute(session):
            self._place_inside(data, session)
            doc = places.record(
                places.fields(data, None, self.vault), Stamp(now, caller.actor), new_id
            )
            places.save(self.store, self.outbox, session, [(doc, "created")])
            return {"id": doc["_id"]}

        key = f"{caller.actor}:{client_id}"
        result = self.store.run_command("create_place", key, {"data": data}, execute)
        self.outbox.wake()
        return self._place_shown(places.visible(self.store, result["id"], caller), caller, False)

    @grid_rpc
    def update_place(self, place_id: str, changes: dict, version: int, *, caller: Caller) -> dict:
        """Change a place record based on `version` (stale: Conflict with the current one)."""
        changes = load(PlaceUpdateIn(exclude=("version",)), changes)
        current = places.visible(self.store, place_id, caller)
        if current["version"] != version:
            raise Conflict(details={"current": places.view(current, False, self.vault)})
        merged = {**places.as_input(current), **changes}
        caller.require_visible(merged["grid_code"], "grid_code")
        self._place_valid(merged)
        at = Stamp(self.clock.now(), caller.actor)
        doc = places.record(places.fields(merged, current, self.vault), at, new_id, current)

        def work(session):
            self._place_inside(merged, session)
            stored = lambda: self.store.place(place_id, session=session)  # noqa: E731
            with versions.conflict_shows(lambda: places.view(stored(), False, self.vault)):
                places.save(self.store, self.outbox, session, [(doc, "updated")])

        self.store.transaction(work)
        self.outbox.wake()
        return self._place_shown(doc, caller, False)

    @grid_rpc
    def get_place(self, place_id: str, *, caller: Caller) -> dict:
        """One place or organisation record; NotFound outside the caller's scopes. The
        contact phone is unmasked only for roles that need it (such a read is audited)."""
        return self._place_shown(places.visible(self.store, place_id, caller), caller, True)

    @grid_rpc
    def list_places(self, grid_code: str, kind: str | None = None, *, caller: Caller) -> list:
        """Places and organisations under a grid (contact phones masked in lists)."""
        caller.require_visible(grid_code, "grid_code")
        return [places.view(d, False, self.vault) for d in self.store.places_under(grid_code, kind)]

    def _place_valid(self, data: dict) -> None:
        problems = places.problems(data)
        if problems:
            raise ValidationFailed(details=problems)

    def _place_inside(self, data: dict, session) -> None:
        grid = grids.require_live(self.store, data["grid_code"], session)
        outside = places.outside_grid(data, grid)
        if outside:
            raise ValidationFailed(details={"location": outside})

    def _place_shown(self, doc: dict, caller: Caller, with_id: bool) -> dict:
        """The place as this caller may see it (an unmasked read is audited; reads of one
        record name it in the audit)."""
        record_id = doc["_id"] if with_id else None
        now = self.clock.now()
        shown = audit.unmasked(self.store, now, caller, doc["grid_code"], "place", record_id)
        return places.view(doc, shown, self.vault)
