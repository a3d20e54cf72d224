"""What the service does on its own: triage of new reports (register and dispatch where the
category allows), reminders before a step's limit, escalation and 督办 when it runs out, and
folding the figures.

Correct with any number of instances running:
- a reminder is claimed by a conditional update (`claim_reminder` unsets the instant it was
  due at: only one instance's update matches), then its event is recorded in the same
  transaction;
- an overdue step moves the case through the one write path, whose replace is conditional on
  the version it was judged from: a second instance matches nothing and lets it be;
- triage is an event handler through the kit's inbox (SERVICE_POOL: one instance gets each
  event, and `Inbox.once` applies each event id once);
- figures: every write leaves insert-only deltas beside the case (no hot document in the
  request path); a timer folds them into the tallies and removes them in one transaction,
  so a delta counts once whichever instance folds it.
"""

from __future__ import annotations

import logging
import os

from nameko.events import SERVICE_POOL
from nameko.rpc import rpc
from nameko.timer import timer

from contracts.cases import CASE_REPORTED
from contracts.errors import Conflict, LianxinError
from services.cases import case as rules_of
from services.cases import figures, views, writes
from services.cases.base import TRUSTED, CasesBase
from services.cases.case import ESCALATED, HANDLING, NotAllowed, NotYours, Step
from services.cases.rpc_loop import LoopRpc
from services.kit.consumer import DeadLetterMixin, counted_event_handler

log = logging.getLogger(__name__)
CLOCK_SECONDS = float(os.environ.get("CASES_CLOCK_SECONDS", "20"))
FIGURES_SECONDS = float(os.environ.get("CASES_FIGURES_SECONDS", "2"))
FOLD_BATCH = 500  # deltas per transaction (SecantusDB slows sharply past ~1,000 documents)
BATCH = 100
ESCALATING = (rules_of.DISPATCHED, HANDLING, ESCALATED)


class Clocks(DeadLetterMixin, LoopRpc, CasesBase):
    # --- triage ---------------------------------------------------------------------------
    @counted_event_handler("cases", CASE_REPORTED, handler_type=SERVICE_POOL)
    def triage(self, event, redelivered: bool = False):
        """平台派单: a report whose category allows it and that is not a possible duplicate
        is registered and dispatched at once — grid-level ones to the grid's on-duty worker,
        others to their unit. Anything else waits for staff. Applied once per event (the
        kit's inbox, as `@consumes` does); the relay is woken after the commit, so the
        dispatch leaves at once rather than at its next poll."""
        payload = event.get("payload") or {}
        category = self._category(str(payload.get("category"))) or {}
        if not category.get("auto_dispatch", True):
            return "waits"
        # who takes it is asked before the transaction opens, so none is held over an RPC
        level = payload.get("level")
        to: dict | None = {"level": level, "name": None}
        if level == "grid":
            try:
                to = self._on_duty(payload["grid_code"])
            except LianxinError as exc:  # the grid service is away: register, staff dispatch
                log.warning("no on-duty answer for %s: %s", payload.get("grid_code"), exc)
                to = None
        outcome = self.inbox.handle(
            event, "triage", lambda session: self._triage(event, to, session), redelivered
        )
        self.outbox.wake()
        return outcome

    def _triage(self, event, to: dict | None, session) -> None:
        doc = self.store.case(event["payload"]["case_id"], session=session)
        if doc is None or doc["state"] != rules_of.REPORTED or doc.get("possible_duplicates"):
            return
        rules = self._rules(doc["category"])
        now = self._now()
        registered, events = rules_of.apply(doc, "register", TRUSTED, now, rules=rules)
        entries = [rules_of.entry(doc, registered, "register", TRUSTED, now)]
        after = registered
        if to is not None:
            step = Step(to=to)
            after, more = rules_of.apply(registered, "dispatch", TRUSTED, now, step, rules)
            entries.append(rules_of.entry(registered, after, "dispatch", TRUSTED, now, step))
            events += more
        writes.move(self.store, self.outbox, session, doc, after, entries, events)

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

    # --- figures: the deltas each write left, folded into the tallies ------------------------
    @timer(interval=FIGURES_SECONDS)
    def fold_tick(self):
        try:
            while self.fold_figures() >= FOLD_BATCH:
                pass
        except Exception:  # the next tick tries again; nothing was half-folded
            log.exception("folding case figures failed; trying again next tick")

    @rpc
    def fold_figures(self) -> int:
        """Fold up to FOLD_BATCH pending deltas into the tallies of every grid and division
        they lie under, in one transaction that also removes them: each delta counts once
        (two instances folding the same deltas conflict, and the retry finds them gone)."""

        def work(session) -> int:
            deltas = self.store.pending_deltas(FOLD_BATCH, session)
            if not deltas:
                return 0
            sums: dict[tuple[str, str, str], dict[str, int]] = {}
            names: dict[str, str] = {}
            for delta in deltas:
                for code, parent in figures.rollups(delta["grid_code"]):
                    into = sums.setdefault((code, parent, delta["month"]), {})
                    for key, n in delta["counts"].items():
                        into[key] = into.get(key, 0) + n
                if delta.get("grid_name"):
                    names[delta["grid_code"]] = delta["grid_name"]
            for (code, parent, month), counts in sums.items():
                self.store.tally(code, parent, names.get(code), month, counts, session)
            if self.store.drop_deltas([d["_id"] for d in deltas], session) != len(deltas):
                raise Conflict(details={"deltas": "folded meanwhile"})
            return len(deltas)

        try:
            return self.store.transaction(work)
        except Conflict:
            return 0
