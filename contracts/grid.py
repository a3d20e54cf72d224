"""The grid registry's shared language: event names and the payloads they carry."""

from __future__ import annotations

from marshmallow import Schema, fields

# Events the grid service publishes (producer "grid"), all version 1.
GRID_CHANGED = "grid_changed"
HOUSEHOLD_CHANGED = "household_changed"
STAFF_ASSIGNED = "staff_assigned"
VISIT_LOGGED = "visit_logged"


class GridChanged(Schema):
    code = fields.String(required=True)
    change = fields.String(required=True)  # created | updated | retired
    level = fields.Integer(required=True)
    parent = fields.String(required=True)
    version = fields.Integer(required=True)


class HouseholdChanged(Schema):
    household_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    change = fields.String(required=True)  # created | updated
    version = fields.Integer(required=True)
    tags = fields.List(fields.String(), required=True)


class StaffAssigned(Schema):
    grid_code = fields.String(required=True)
    user_id = fields.String(required=True)
    post = fields.String(required=True)
    ab = fields.String(allow_none=True)
    change = fields.String(required=True)  # assigned | removed | absent | present


class VisitLogged(Schema):
    visit_id = fields.String(required=True)
    household_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    worker_user_id = fields.String(required=True)
    kind = fields.String(required=True)
    occurred_at = fields.String(required=True)  # ISO 8601, UTC
