"""The catalogue the loop runs on: categories (operators add, edit and retire them) and the
working calendar, plus the limits a client needs before it sends anything."""

from __future__ import annotations

from contracts.caller import Caller
from contracts.cases_http import CalendarIn, CategoryChangeIn, CategoryIn
from contracts.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationFailed
from contracts.roles import CATEGORY_EDITORS
from services.cases import photos, taxonomy
from services.cases.base import CasesBase, cases_rpc
from services.cases.workclock import Calendar, CalendarError
from services.kit.inputs import load


def _editor(caller: Caller) -> None:
    if not (caller.is_trusted or caller.has_role(*CATEGORY_EDITORS)):
        raise Forbidden(details={"required_roles": list(CATEGORY_EDITORS)})


class CatalogueRpc(CasesBase):
    @cases_rpc
    def list_categories(self, include_retired: bool = False) -> list:
        """Every category in use (and the retired ones when asked), by group then code."""
        return [
            taxonomy.view(d)
            for d in self.store.categories()
            if include_retired or not d.get("retired")
        ]

    @cases_rpc
    def get_category(self, code: str) -> dict:
        doc = self.store.category(str(code))
        if doc is None:
            raise NotFound(details={"category": code})
        return taxonomy.view(doc)

    @cases_rpc
    def create_category(self, data: dict, *, caller: Caller) -> dict:
        """A new category with a stable code (never reused: retire instead of deleting)."""
        _editor(caller)
        data = load(CategoryIn(), data)
        doc = taxonomy.record(data, self._now(), caller.actor)
        if not self.store.insert_category(doc):
            raise AlreadyExists(details={"code": data["code"]})
        self._catalogue_changed()
        return taxonomy.view(doc)

    @cases_rpc
    def update_category(self, code: str, changes: dict, *, caller: Caller) -> dict:
        """Change a category at the version you saw ({version, …, retired?}). Cases already
        reported keep the limits their clocks were started with."""
        _editor(caller)
        changes = load(CategoryChangeIn(), changes)
        current = self.store.category(str(code))
        if current is None:
            raise NotFound(details={"category": code})
        if current["version"] != changes["version"]:
            raise Conflict(details={"current": taxonomy.view(current)})
        doc = taxonomy.record(changes, self._now(), caller.actor, current)
        if not self.store.replace_category(doc, current["version"]):
            raise Conflict(details={"current": taxonomy.view(self.store.category(code) or doc)})
        self._catalogue_changed()
        return taxonomy.view(doc)

    @cases_rpc
    def get_calendar(self) -> dict:
        """The working calendar: hours of a working day, holidays, weekend days worked."""
        return self._stored_calendar().doc()

    @cases_rpc
    def put_calendar(self, data: dict, *, caller: Caller) -> dict:
        """Replace the calendar at the version you saw (0 for the built-in default). Clocks
        already running keep their deadlines; new steps count on the new calendar."""
        _editor(caller)
        data = load(CalendarIn(), data)
        try:
            calendar = Calendar.of({**data, "version": data["version"] + 1})
        except CalendarError as exc:
            raise ValidationFailed(details={"hours": str(exc)}) from None
        doc = calendar.doc()
        doc["updated_by"] = caller.actor
        if not self.store.put_calendar(doc, data["version"]):
            raise Conflict(details={"current": self._stored_calendar().doc()})
        self._catalogue_changed()
        return calendar.doc()

    @cases_rpc
    def meta(self) -> dict:
        """What a client needs before sending: photo limits, reopening days, categories."""
        return {
            "photo_max_bytes": photos.MAX_BYTES,
            "photo_max_count": photos.MAX_PER_STEP,
            "photo_max_side": photos.MAX_SIDE,
            "reopen_days": self._reopen_days(),
            "categories": self.list_categories(),
        }
