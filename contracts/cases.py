"""The cases service's events (producer "cases", all version 1): the closed loop's facts.

Every step of a case publishes one event with the same payload shape, `CaseEvent`, so
that consumers (the points mall, notifications) read one contract. Fields that do not
apply to a step are null.
"""

from __future__ import annotations

from marshmallow import Schema, fields

CASE_REPORTED = "case_reported"  # a report arrived (any source)
CASE_REGISTERED = "case_registered"  # accepted as a valid case (立案)
CASE_CANCELLED = "case_cancelled"  # refused as invalid, with a reason
CASE_DISPATCHED = "case_dispatched"  # sent to a person or a unit; the clock starts
CASE_DECLINED = "case_declined"  # the receiver declined, with a reason
CASE_ACCEPTED = "case_accepted"  # the receiver took it on
CASE_HANDLED = "case_handled"  # the handler fed back (with photos)
CASE_RETURNED = "case_returned"  # the verifier sent it back for rework
CASE_CLOSED = "case_closed"  # verified and closed by someone other than the handler
CASE_REOPENED = "case_reopened"  # reopened within the allowed days; back to its handler
CASE_EVALUATED = "case_evaluated"  # the reporter rated the result (1-5)
CASE_ESCALATED = "case_escalated"  # whistle blown (吹哨) or escalated when overdue
CASE_ACKNOWLEDGED = "case_acknowledged"  # the receiving unit reported in (报到)
CASE_OVERDUE_SOON = "case_overdue_soon"  # a reminder before a step's limit runs out
CASE_OVERDUE = "case_overdue"  # a step's limit ran out (flagged for 督办)
CASE_MERGED = "case_merged"  # a duplicate merged into another case

CASE_EVENTS = (
    CASE_REPORTED,
    CASE_REGISTERED,
    CASE_CANCELLED,
    CASE_DISPATCHED,
    CASE_DECLINED,
    CASE_ACCEPTED,
    CASE_HANDLED,
    CASE_RETURNED,
    CASE_CLOSED,
    CASE_REOPENED,
    CASE_EVALUATED,
    CASE_ESCALATED,
    CASE_ACKNOWLEDGED,
    CASE_OVERDUE_SOON,
    CASE_OVERDUE,
    CASE_MERGED,
)


class CaseEvent(Schema):
    case_id = fields.String(required=True)
    number = fields.String(required=True)  # the human case number, e.g. "AJ202611230001"
    title = fields.String(required=True)
    category = fields.String(required=True)  # category code
    category_group = fields.String(required=True)  # e.g. disputes, safety_hazards
    grid_code = fields.String(required=True)  # where; its first 12 digits name the village
    grid_name = fields.String(allow_none=True)
    state = fields.String(required=True)  # the state after this step
    from_state = fields.String(allow_none=True)
    action = fields.String(required=True)  # the state machine's action (or "timer")
    actor = fields.String(required=True)  # user id, or "service:cases" for the clock
    at = fields.String(required=True)  # ISO 8601, UTC
    source = fields.String(required=True)  # resident, worker, visit, operator, hotline, open311
    reporter_id = fields.String(allow_none=True)  # the reporting user, if signed in
    reporter_role = fields.String(allow_none=True)  # resident, grid_worker, ...
    handler_id = fields.String(allow_none=True)  # the person handling it now (or who did)
    unit = fields.String(allow_none=True)  # the unit it sits with: a grid/division code or dept
    level = fields.String(required=True)  # grid | community | town | department
    deadline = fields.String(allow_none=True)  # the current step's limit, ISO 8601 UTC
    on_time = fields.Boolean(allow_none=True)  # on closing: were all steps within limits
    rating = fields.Integer(allow_none=True)  # on evaluation: 1-5
    reason = fields.String(allow_none=True)  # cancel, decline, return, whistle, reopen
    visit_id = fields.String(allow_none=True)  # reported from a visit
    household_id = fields.String(allow_none=True)
    merged_into = fields.String(allow_none=True)  # on merge: the case it joined
    followers = fields.List(fields.String(), load_default=list)  # reporters who follow it
    # added by the cases service (optional, so older payloads still load)
    step = fields.String(allow_none=True)  # the step a reminder or overdue is about
    supervised = fields.Boolean(allow_none=True)  # flagged for supervision (督办)
    number_of_photos = fields.Integer(allow_none=True)


EVENTS = {name: CaseEvent for name in CASE_EVENTS}
