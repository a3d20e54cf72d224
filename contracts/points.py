"""The points service's events (producer "points", all version 1).

Amounts are whole points (integers); yuan are in fen. `village` is the 12-digit code of
the village collective whose fund pays for the points.
"""

from __future__ import annotations

from marshmallow import Schema, fields

POINTS_AWARDED = "points_awarded"  # an award was posted (pending or available)
POINTS_SETTLED = "points_settled"  # pending points became available (the work was verified)
POINTS_REVERSED = "points_reversed"  # an award or redemption was reversed (reopened, voided)
POINTS_REFUSED = "points_refused"  # an award could not be made (fund short, rule inactive)
POINTS_EXPIRING = "points_expiring"  # a reminder: points will expire soon
POINTS_EXPIRED = "points_expired"
POINTS_REDEEMED = "points_redeemed"  # goods taken at a supermarket till
POINTS_REFUNDED = "points_refunded"  # a redemption refunded
FUND_TOPPED_UP = "fund_topped_up"
STATEMENT_PAID = "statement_paid"  # a supermarket's monthly statement was paid


class PointsMoved(Schema):
    """Awards, settlements, reversals, refusals and expiry of a worker's points."""

    transfer_id = fields.String(allow_none=True)  # null on a refusal
    user_id = fields.String(required=True)  # the worker
    village = fields.String(required=True)
    amount = fields.Integer(required=True)  # points, > 0
    status = fields.String(required=True)  # pending | available | reversed | refused | expired
    category = fields.String(allow_none=True)  # the duty category the rule belongs to
    cause = fields.String(required=True)  # event | manual | reversal | expiry
    cause_ref = fields.String(allow_none=True)  # the event id, award id or transfer reversed
    reason = fields.String(allow_none=True)  # why (a refusal, a manual award, a reversal)
    balance = fields.Integer(allow_none=True)  # the worker's available balance afterwards
    actor = fields.String(required=True)
    at = fields.String(required=True)  # ISO 8601, UTC


class PointsExpiring(Schema):
    user_id = fields.String(required=True)
    village = fields.String(required=True)
    amount = fields.Integer(required=True)
    expires_at = fields.String(required=True)  # ISO 8601, UTC
    actor = fields.String(required=True)
    at = fields.String(required=True)


class Redemption(Schema):
    """A redemption at a till, or its refund."""

    redemption_id = fields.String(required=True)
    transfer_id = fields.String(required=True)
    user_id = fields.String(required=True)  # the worker
    supermarket_id = fields.String(required=True)
    supermarket_name = fields.String(required=True)
    village = fields.String(required=True)
    amount = fields.Integer(required=True)
    items = fields.Integer(required=True)  # how many goods
    balance = fields.Integer(allow_none=True)
    actor = fields.String(required=True)  # the cashier
    at = fields.String(required=True)


class FundToppedUp(Schema):
    transfer_id = fields.String(required=True)
    village = fields.String(required=True)
    amount = fields.Integer(required=True)  # points
    yuan_fen = fields.Integer(required=True)
    actor = fields.String(required=True)
    at = fields.String(required=True)


class StatementPaid(Schema):
    statement_id = fields.String(required=True)
    supermarket_id = fields.String(required=True)
    village = fields.String(required=True)
    period = fields.String(required=True)  # "2026-11"
    points = fields.Integer(required=True)
    yuan_fen = fields.Integer(required=True)
    actor = fields.String(required=True)
    at = fields.String(required=True)


EVENTS = {
    POINTS_AWARDED: PointsMoved,
    POINTS_SETTLED: PointsMoved,
    POINTS_REVERSED: PointsMoved,
    POINTS_REFUSED: PointsMoved,
    POINTS_EXPIRED: PointsMoved,
    POINTS_EXPIRING: PointsExpiring,
    POINTS_REDEEMED: Redemption,
    POINTS_REFUNDED: Redemption,
    FUND_TOPPED_UP: FundToppedUp,
    STATEMENT_PAID: StatementPaid,
}
