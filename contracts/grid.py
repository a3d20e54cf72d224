"""The grid registry's shared language: event names and the payloads they carry."""

from __future__ import annotations

from marshmallow import Schema, fields

# Events the grid service publishes (producer "grid"), all version 1.
GRID_CHANGED = "grid_changed"
HOUSEHOLD_CHANGED = "household_changed"
STAFF_ASSIGNED = "staff_assigned"
PLACE_CHANGED = "place_changed"  # a place or organisation recorded or changed
VISIT_LOGGED = "visit_logged"
VISIT_VOIDED = "visit_voided"  # a visit struck off (logged in error); points reverse it
VISITS_OVERDUE = "visits_overdue"  # a grid's households overdue for a visit (daily digest)


class GridChanged(Schema):
    code = fields.String(required=True)
    change = fields.String(required=True)  # created | updated | retired
    level = fields.Integer(required=True)
    parent = fields.String(required=True)
    version = fields.Integer(required=True)
    actor = fields.String(required=True)  # who made the change (every event says, DESIGN §8)


class HouseholdChanged(Schema):
    household_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    change = fields.String(required=True)  # created | updated
    version = fields.Integer(required=True)
    tags = fields.List(fields.String(), required=True)
    actor = fields.String(required=True)


class PlaceChanged(Schema):
    place_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    kind = fields.String(required=True)  # shop, school, hazard_point, …
    change = fields.String(required=True)  # created | updated
    version = fields.Integer(required=True)
    actor = fields.String(required=True)


class StaffAssigned(Schema):
    grid_code = fields.String(required=True)
    user_id = fields.String(required=True)
    post = fields.String(required=True)
    ab = fields.String(allow_none=True)
    change = fields.String(required=True)  # assigned | removed | absent | present
    actor = fields.String(required=True)


class VisitLogged(Schema):
    visit_id = fields.String(required=True)
    household_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    worker_user_id = fields.String(required=True)
    kind = fields.String(required=True)
    occurred_at = fields.String(required=True)  # ISO 8601, UTC
    actor = fields.String(required=True)  # who logged it (the worker, or who for them)


class VisitVoided(Schema):
    visit_id = fields.String(required=True)
    household_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    worker_user_id = fields.String(required=True)  # who logged the visit
    reason = fields.String(required=True)
    actor = fields.String(required=True)  # who voided it
    at = fields.String(required=True)  # ISO 8601, UTC


class VisitsOverdue(Schema):
    grid_code = fields.String(required=True)
    grid_name = fields.String(required=True)
    period = fields.String(required=True)  # "2026Q4" or "2026"
    overdue = fields.Integer(required=True)  # households overdue
    days_left = fields.Integer(required=True)
    user_ids = fields.List(fields.String(), required=True)  # the grid's posts to tell
    at = fields.String(required=True)
    actor = fields.String(required=True)  # "service:grid": the daily digest


EVENTS = {
    GRID_CHANGED: GridChanged,
    HOUSEHOLD_CHANGED: HouseholdChanged,
    PLACE_CHANGED: PlaceChanged,
    STAFF_ASSIGNED: StaffAssigned,
    VISIT_LOGGED: VisitLogged,
    VISIT_VOIDED: VisitVoided,
    VISITS_OVERDUE: VisitsOverdue,
}
