"""Messages from what happened elsewhere: each event turned into messages once.

Every handler is a kit `@consumes(source, event)` method (the points service's pattern): its
body runs inside `Inbox.once`, in the one transaction that stores the messages, queues
their deliveries and records the live event. An event delivered twice finds its mark and
does nothing; a handler that fails (the grid service does not answer) is retried with
back-off and then kept as a dead letter an operator can replay.
"""

from __future__ import annotations

from contracts import cases, grid, points
from contracts.notify import MESSAGES_DELIVERED
from services.kit.consumer import DeadLetterMixin, consumes
from services.notify import messages, recipients
from services.notify.base import NotifyBase


class EventConsumers(DeadLetterMixin, NotifyBase):
    def _tell(self, event: dict, session) -> None:
        drafts = recipients.drafts_of(event, self._directory())
        messages.deliver(self.store, self.outbox, session, drafts, self._now(), self._settings())

    def after_applied(self) -> None:
        """The kit calls this once an event's transaction committed: publish now."""
        self.outbox.wake()

    # --- the cases -------------------------------------------------------------------------
    @consumes("cases", cases.CASE_DISPATCHED)
    def on_case_dispatched(self, event, session):
        self._tell(event, session)

    @consumes("cases", cases.CASE_ESCALATED)
    def on_case_escalated(self, event, session):
        self._tell(event, session)

    @consumes("cases", cases.CASE_OVERDUE_SOON)
    def on_case_overdue_soon(self, event, session):
        self._tell(event, session)

    @consumes("cases", cases.CASE_OVERDUE)
    def on_case_overdue(self, event, session):
        self._tell(event, session)

    @consumes("cases", cases.CASE_RETURNED)
    def on_case_returned(self, event, session):
        self._tell(event, session)

    @consumes("cases", cases.CASE_CLOSED)
    def on_case_closed(self, event, session):
        self._tell(event, session)

    @consumes("cases", cases.CASE_EVALUATED)
    def on_case_evaluated(self, event, session):
        self._tell(event, session)

    # --- the points mall -------------------------------------------------------------------
    @consumes("points", points.POINTS_AWARDED)
    def on_points_awarded(self, event, session):
        self._tell(event, session)

    @consumes("points", points.POINTS_EXPIRING)
    def on_points_expiring(self, event, session):
        self._tell(event, session)

    @consumes("points", points.POINTS_REDEEMED)
    def on_points_redeemed(self, event, session):
        self._tell(event, session)

    # --- the grid ---------------------------------------------------------------------------
    @consumes("grid", grid.STAFF_ASSIGNED)
    def on_staff_assigned(self, event, session):
        self._tell(event, session)

    @consumes("grid", grid.VISITS_OVERDUE)
    def on_visits_overdue(self, event, session):
        self._tell(event, session)

    # --- the gateway's live streams: what reached an open app --------------------------------
    @consumes("gateway", MESSAGES_DELIVERED)
    def on_messages_delivered(self, event, session):
        self.store.record_receipts(event["payload"]["receipts"], session)
