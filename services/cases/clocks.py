"""What the service does on its own: triage of new reports (register and dispatch where the
category allows), reminders before a step's limit, escalation and 督办 when it runs out, and
the figures and public board kept from its own events.

Correct with any number of instances running:
- a reminder is claimed by a conditional update (`claim_reminder` unsets the instant it was
  due at: only one instance's update matches), then its event is recorded in the same
  transaction;
- an overdue step moves the case through the one write path, whose replace is conditional on
  the version it was judged from: a second instance matches nothing and lets it be;
- triage, tallies and the board are `@consumes` handlers (SERVICE_POOL: one instance gets
  each event, and `Inbox.once` applies each event id once).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from nameko.rpc import rpc
from nameko.timer import timer

from contracts.cases import (
    CASE_CANCELLED,
    CASE_CLOSED,
    CASE_ESCALATED,
    CASE_EVALUATED,
    CASE_HANDLED,
    CASE_REGISTERED,
    CASE_REOPENED,
    CASE_REPORTED,
    CASE_RETURNED,
)
from contracts.errors import Conflict
from services.cases import case as rules_of
from services.cases import figures, views, writes
from services.cases.base import TRUSTED, CasesBase
from services.cases.case import ESCALATED, HANDLING, NotAllowed, NotYours, Step
from services.cases.rpc_loop import LoopRpc
from services.kit.consumer import DeadLetterMixin, consumes

log = logging.getLogger(__name__)
CLOCK_SECONDS = float(os.environ.get("CASES_CLOCK_SECONDS", "20"))
BATCH = 100
ESCALATING = (rules_of.DISPATCHED, HANDLING, ESCALATED)


class Clocks(DeadLetterMixin, LoopRpc, CasesBase):
    # --- triage ---------------------------------------------------------------------------
    @consumes("cases", CASE_REPORTED)
    def triage(self, event, session):
        """平台派单: a report whose category allows it and that is not a possible duplicate
        is registered and dispatched at once — grid-level ones to the grid's on-duty worker,
        others to their unit. Anything else waits for staff."""
        doc = self.store.case(event["payload"]["case_id"], session=session)
        if doc is None or doc["state"] != rules_of.REPORTED or doc.get("possible_duplicates"):
            return
        category = self._category(doc["category"]) or {}
        if not category.get("auto_dispatch", True):
            return
        rules = self._rules(doc["category"])
        now = self._now()
        registered, events = rules_of.apply(doc, "register", TRUSTED, now, rules=rules)
        entries = [rules_of.entry(doc, registered, "register", TRUSTED, now)]
        to = (
            self._on_duty(doc["grid_code"])
            if doc["level"] == "grid"
            else {"level": doc["level"], "name": None}
        )
        after = registered
        if to is not None:
            step = Step(to=to)
            after, more = rules_of.apply(registered, "dispatch", TRUSTED, now, step, rules)
            entries.append(rules_of.entry(registered, after, "dispatch", TRUSTED, now, step))
            events += more
        writes.move(self.store, self.outbox, session, doc, after, entries, events)
        self.outbox.wake()

    # --- the clock ------------------------------------------------------------------------
    @timer(interval=CLOCK_SECONDS)
    def tick(self):
        try:
            self.run_clocks()
        except Exception:  # the database hiccuped: the next tick tries again
            log.exception("case clocks failed; trying again next tick")

    @rpc
    def run_clocks(self) -> dict:
        """One pass of reminders and overdue escalations: {reminded, overdue} by this
        instance (tests and drills call it; the timer runs it every CLOCK_SECONDS)."""
        now = self._now()
        reminded = sum(self._remind(doc, now) for doc in self.store.due_reminders(now, BATCH))
        overdue = sum(self._overdue(doc, now) for doc in self.store.due_overdue(now, BATCH))
        if reminded or overdue:
            self.outbox.wake()
        return {"reminded": reminded, "overdue": overdue}

    def _remind(self, doc: dict, now) -> int:
        def work(session) -> int:
            if not self.store.claim_reminder(doc["_id"], doc["due_remind"], session):
                return 0  # another instance took it, or the step moved on
            writes.record_events(self.outbox, session, [rules_of.reminder(doc, now)])
            return 1

        return self.store.transaction(work)

    def _overdue(self, doc: dict, now) -> int:
        """Flag the late step for supervision (督办) and, while someone should be working on
        it, escalate it a level up; once, whichever instance gets there first."""
        rules = self._rules(doc["category"])
        try:
            flagged, events = rules_of.apply(doc, "overdue", TRUSTED, now, rules=rules)
            entries = [rules_of.entry(doc, flagged, "overdue", TRUSTED, now)]
            after = flagged
            if doc["state"] in ESCALATING:
                step = Step(
                    reason=f"{views.STEP_LABELS.get(doc['clock']['step'], '')}超时，自动升级"
                )
                after, more = rules_of.apply(flagged, "escalate", TRUSTED, now, step, rules)
                entries.append(rules_of.entry(flagged, after, "escalate", TRUSTED, now, step))
                events += more
        except (NotAllowed, NotYours):
            return 0
        try:
            self.store.transaction(
                lambda session: writes.move(
                    self.store, self.outbox, session, doc, after, entries, events
                )
            )
        except Conflict:
            return 0  # another instance (or a person) moved it first
        return 1

    # --- figures and the board, from our own events ------------------------------------------
    def _tally(self, event, session) -> None:
        payload = event["payload"]
        at = datetime.fromisoformat(payload["at"])
        counts = figures.increments(event["type"], payload)
        if counts:  # the grid's tally and each division's it lies in
            month = figures.month_of(at)
            for code, parent in figures.rollups(payload["grid_code"]):
                name = payload.get("grid_name") if code == payload["grid_code"] else None
                self.store.tally(code, parent, name, month, counts, session)

    @consumes("cases", CASE_REPORTED)
    def tally_reported(self, event, session):
        self._tally(event, session)

    @consumes("cases", CASE_REGISTERED)
    def tally_registered(self, event, session):
        self._tally(event, session)

    @consumes("cases", CASE_CANCELLED)
    def tally_cancelled(self, event, session):
        self._tally(event, session)

    @consumes("cases", CASE_HANDLED)
    def tally_handled(self, event, session):
        self._tally(event, session)

    @consumes("cases", CASE_RETURNED)
    def tally_returned(self, event, session):
        self._tally(event, session)

    @consumes("cases", CASE_ESCALATED)
    def tally_escalated(self, event, session):
        self._tally(event, session)

    @consumes("cases", CASE_CLOSED)
    def on_closed(self, event, session):
        self._tally(event, session)
        self._board(event["payload"]["case_id"], session)

    @consumes("cases", CASE_EVALUATED)
    def on_evaluated(self, event, session):
        self._tally(event, session)
        self._board(event["payload"]["case_id"], session)

    @consumes("cases", CASE_REOPENED)
    def on_reopened(self, event, session):
        self._tally(event, session)
        self.store.drop_board(event["payload"]["case_id"], session)

    def _board(self, case_id: str, session) -> None:
        """The case's public entry as it is now (closed or evaluated), else none."""
        doc = self.store.case(case_id, session=session)
        if doc is None or doc["state"] not in rules_of.DONE:
            return
        steps = doc["steps"]
        start = steps.get("dispatched_at") or steps["reported_at"]
        seconds = self._calendar().between(start, steps["closed_at"])
        self.store.put_board(views.board_entry(doc, seconds), session)
