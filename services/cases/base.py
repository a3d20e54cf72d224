"""What every part of the cases service shares: its dependencies, the RPC decorator, the
rules a case is judged by (its category's limits on the calendar), and how a case is read
for a caller."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

from contracts.caller import Caller
from contracts.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    LianxinError,
    NotFound,
    ReopenWindowPassed,
    ValidationFailed,
)
from services.cases import case as rules_of
from services.cases import taxonomy, views
from services.cases.case import NotAllowed, NotYours, Rules, WindowPassed
from services.cases.storage import CaseStorage, CaseStore
from services.cases.workclock import Calendar
from services.kit.clock import Clock, ClockProvider, to_ms
from services.kit.consumer import EventInbox
from services.kit.outbox import Outbox, OutboxWriter
from services.kit.rpc import TimedRpcProxy
from services.kit.sealing import Keyring, KeySource

SERVICE = "cases"
# Categories and the calendar change a few times a year and are read by every report and
# step: each process keeps them for a few seconds (an edit here is seen at once, one made
# through another instance within CATALOGUE_SECONDS).
CATALOGUE_SECONDS = 5.0
_catalogues: dict[Any, tuple[float, dict[str, dict], Calendar]] = {}
TRUSTED = Caller.trusted(SERVICE)
CONTACT = "case_contact"  # what a reporter's sealed contact is bound to
DEFAULT_REOPEN_DAYS = 7

# Every cases RPC: a named error is the caller's doing (a bad field, a stale version, a step
# the table does not allow), answered as such and not logged with a stack trace.
cases_rpc = rpc(expected_exceptions=LianxinError)


class KeysProvider(DependencyProvider):
    """`self.keys`: the keys that seal reporters' contacts (CASES_DATA_KEYS, else a file)."""

    def setup(self) -> None:
        self.source = KeySource("CASES_DATA_KEYS", "cases-data-keys", self.container.config)

    def get_dependency(self, _worker_ctx) -> Keyring:
        return self.source.keyring()


class CasesBase:
    """The dependencies and shared internals; the RPCs live in the rpc_* parts."""

    name = SERVICE
    store: CaseStore = CaseStorage()
    outbox: OutboxWriter = Outbox(SERVICE)
    inbox = EventInbox(SERVICE)
    clock: Clock = ClockProvider()
    grid = TimedRpcProxy("grid")
    keys: Keyring = KeysProvider()
    config = Config()

    @cases_rpc
    def health(self) -> dict:
        """{service, ok}; raises when the database does not answer."""
        self.store.ping()
        return {"service": self.name, "ok": True}

    def _now(self) -> datetime:
        return to_ms(self.clock.now())

    # --- the rules a case lives under -------------------------------------------------
    def _catalogue(self) -> tuple[dict[str, dict], Calendar]:
        key = self.config.get("DB_PREFIX")  # one process may serve several databases (tests)
        hit = _catalogues.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1], hit[2]
        calendar = self._stored_calendar()
        categories = {d["_id"]: d for d in self.store.categories()}
        _catalogues[key] = (time.monotonic() + CATALOGUE_SECONDS, categories, calendar)
        return categories, calendar

    def _stored_calendar(self) -> Calendar:
        doc = self.store.calendar()
        return Calendar.of(doc) if doc else Calendar.default()

    def _catalogue_changed(self) -> None:
        _catalogues.pop(self.config.get("DB_PREFIX"), None)

    def _category(self, code: str) -> dict | None:
        return self._catalogue()[0].get(code)

    def _calendar(self) -> Calendar:
        return self._catalogue()[1]

    def _reopen_days(self) -> int:
        return int(self.config.get("CASES_REOPEN_DAYS", DEFAULT_REOPEN_DAYS))

    def _rules(self, category_code: str) -> Rules:
        doc = self._category(category_code)
        limits = taxonomy.limit_seconds(doc) if doc else {}
        return Rules(self._calendar(), limits, self._reopen_days())

    def _attach(self, ids: list[str], caller: Caller, case_id: str, session) -> None:
        """The caller's own unused uploads go with this step (all of them, or nothing)."""
        if ids and self.store.attach_photos(ids, caller.actor, case_id, session) != len(ids):
            raise ValidationFailed(details={"photos": "a photo was already used or is not yours"})

    # --- reading a case for a caller ----------------------------------------------------
    def _visible(self, case_id: str, caller: Caller, session=None) -> dict:
        """The case, or NotFound as if nothing were there (nobody learns what exists)."""
        doc = self.store.case(str(case_id), session=session)
        if doc is None or not views.may_see(doc, caller):
            raise NotFound(details={"case_id": case_id})
        return doc

    def _contact(self, doc: dict) -> dict | None:
        sealed = doc.get("contact_sealed")
        if not sealed:
            return None
        return json.loads(self.keys.open(sealed, CONTACT))

    def _view(self, doc: dict, caller: Caller, full: bool = True, rules: Rules | None = None):
        rules = rules or self._rules(doc["category"])
        duplicates: list[dict] = []
        if full and doc.get("possible_duplicates") and views.sees_contact(doc, caller):
            duplicates = self.store.cases_by_ids(doc["possible_duplicates"])
        return views.view(
            doc,
            caller,
            self._now(),
            rules,
            timeline=self.store.timeline(doc["_id"]) if full else None,
            contact=self._contact(doc) if full else None,
            duplicates=duplicates,
        )

    def _refused(self, exc: Exception, doc: dict, caller: Caller, action: str) -> LianxinError:
        """The named error a person understands for a move the rules refused."""
        if isinstance(exc, NotAllowed):
            return InvalidTransition(
                details={
                    "state": exc.state,
                    "action": exc.action,
                    "state_zh": rules_of.STATE_LABELS.get(exc.state, exc.state),
                    "action_zh": rules_of.ACTION_LABELS.get(action, action),
                    "current": self._view(doc, caller, full=False),
                }
            )
        if isinstance(exc, WindowPassed):
            return ReopenWindowPassed(details={"days": exc.days})
        if isinstance(exc, NotYours):
            return Forbidden(details={"why": exc.why, "action": action})
        raise exc

    def _stale(self, case_id: str, caller: Caller) -> Conflict:
        current = self.store.case(case_id)
        details: dict[str, Any] = {"case_id": case_id}
        if current is not None and views.may_see(current, caller):
            details["current"] = self._view(current, caller, full=False)
        return Conflict(details=details)


def page_skip(before: str | None) -> int:
    """Where a page starts: the `next` of the previous page (an offset)."""
    if not before:
        return 0
    try:
        return max(0, int(before))
    except ValueError:
        raise ValidationFailed(details={"before": "the `next` of the previous page"}) from None
