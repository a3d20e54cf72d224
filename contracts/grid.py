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
RESERVE_CHANGED = "reserve_changed"  # a member of a reserve team added, changed or removed
PARTY_UNIT_SET = "party_unit_set"  # the party branch or group on a grid set
PARTY_LINK_CHANGED = "party_link_changed"  # a party member's household links set or removed


class _Change(Schema):
    """What every grid event carries: what happened, and who made it happen (DESIGN §8)."""

    change = fields.String(required=True)
    actor = fields.String(required=True)  # a user id, or "service:<name>"


class _Versioned(_Change):
    version = fields.Integer(required=True)  # of the record after the change


class GridChanged(_Versioned):
    code = fields.String(required=True)  # change: created | updated | retired
    level = fields.Integer(required=True)
    parent = fields.String(required=True)


class HouseholdChanged(_Versioned):
    household_id = fields.String(required=True)  # change: created | updated
    grid_code = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)


class PlaceChanged(_Versioned):
    place_id = fields.String(required=True)  # change: created | updated
    grid_code = fields.String(required=True)
    kind = fields.String(required=True)  # shop, school, hazard_point, …


class StaffAssigned(_Change):
    grid_code = fields.String(required=True)  # change: assigned | removed | absent | present
    user_id = fields.String(required=True)
    post = fields.String(required=True)
    ab = fields.String(allow_none=True)


class ReserveChanged(_Change):
    grid_code = fields.String(required=True)  # change: added | updated | removed
    member_id = fields.String(required=True)
    kind = fields.String(required=True)  # party_member, veteran, volunteer, …


class PartyUnitSet(_Versioned):
    grid_code = fields.String(required=True)  # change: set
    kind = fields.String(required=True)  # branch | group


class PartyLinkChanged(_Change):
    grid_code = fields.String(required=True)  # change: linked | unlinked
    member_key = fields.String(required=True)  # the member's user id, else their name
    households = fields.Integer(required=True)  # how many households they serve now


class _Visit(Schema):
    visit_id = fields.String(required=True)
    household_id = fields.String(required=True)
    grid_code = fields.String(required=True)
    worker_user_id = fields.String(required=True)  # who logged the visit
    actor = fields.String(required=True)  # who logged it, or who voided it


class VisitLogged(_Visit):
    kind = fields.String(required=True)
    occurred_at = fields.String(required=True)  # ISO 8601, UTC


class VisitVoided(_Visit):
    reason = fields.String(required=True)
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
    RESERVE_CHANGED: ReserveChanged,
    PARTY_UNIT_SET: PartyUnitSet,
    PARTY_LINK_CHANGED: PartyLinkChanged,
}
