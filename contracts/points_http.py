"""Schemas of the points mall's HTTP API (积分超市): what the gateway accepts and answers.

Request schemas reject unknown fields, and every amount is a strict integer (points, or
fen for yuan): 2.5, "7" and true are 400s before anything reaches the ledger. Times in
answers are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

CATEGORIES = (
    "org_life",
    "livelihood",
    "opinions",
    "disputes",
    "special_groups",
    "policy_law",
)
TRIGGERS = (
    "visit_logged",
    "case_registered",
    "case_handled",
    "case_closed",
    "case_closed_on_time",
    "case_evaluated_good",
)
VILLAGE = validate.Regexp(r"^\d{12}$", error="a 12-digit village or community code")
AREA = validate.Regexp(r"^(\d{9}|\d{12})$", error="a 9-digit town or 12-digit village code")
GRID_CODE = validate.Regexp(r"^\d{12}(-\d{1,3}){0,3}$", error="a grid or village code")
PERIOD = validate.Regexp(r"^\d{4}(-\d{2}|Q[1-4])?$", error="YYYY, YYYYQn or YYYY-MM")
MONTH = validate.Regexp(r"^\d{4}-\d{2}$", error="YYYY-MM")
CLIENT_ID = fields.String(validate=validate.Length(min=8, max=64))


def _points(top: int = 10_000_000, low: int = 1, **kw) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=low, max=top), **kw)


def _text(top: int, **kw) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=top), **kw)


# --- funds and settings -------------------------------------------------------------------
class TopUpIn(Schema):
    points = _points(required=True, metadata={"description": "points bought for the fund"})
    client_id = CLIENT_ID


class ExpiryIn(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(("never", "year_end", "days")))
    days = _points(3660)


class SettingsIn(Schema):
    fen_per_point = _points(100_000, metadata={"description": "the yuan rate, in fen per point"})
    expiry = fields.Nested(ExpiryIn)
    manual_threshold = _points(100_000, low=0)
    refund_days = _points(90, low=0)
    remind_days = _points(365)


class SettingsOut(Schema):
    village = fields.String()
    fen_per_point = fields.Integer()
    expiry = fields.Dict()
    manual_threshold = fields.Integer()
    refund_days = fields.Integer()
    remind_days = fields.Integer()


class FundOut(Schema):
    village = fields.String()
    fund = fields.Integer(metadata={"description": "points bought and not yet awarded"})
    issued = fields.Integer(metadata={"description": "points ever bought"})
    paid = fields.Integer(metadata={"description": "redeemed points paid to supermarkets"})
    fen_per_point = fields.Integer()
    fund_yuan_fen = fields.Integer()
    topups = fields.List(fields.Dict())


# --- rules ----------------------------------------------------------------------------------
class _RuleTerms(Schema):
    daily_cap = _points(100_000, allow_none=True)
    period_cap = _points(1_000_000, allow_none=True)
    period = fields.String(validate=validate.OneOf(("month", "quarter", "year")))
    hold_days = _points(90, low=0)
    category_group = fields.String(allow_none=True, validate=validate.Length(max=40))
    visit_kind = fields.String(
        allow_none=True, validate=validate.OneOf(("routine", "care", "wartime"))
    )
    min_rating = _points(5)
    valid_until = fields.AwareDateTime(format="iso", allow_none=True)


class RuleIn(_RuleTerms):
    code = fields.String(required=True, validate=AREA)
    name = _text(60, required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    trigger = fields.String(required=True, validate=validate.OneOf(TRIGGERS))
    points = _points(10_000, required=True)
    valid_from = fields.AwareDateTime(
        format="iso", metadata={"description": "default now; never earlier"}
    )


class RuleChangeIn(_RuleTerms):
    version = fields.Integer(strict=True, required=True)
    name = _text(60)
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    points = _points(10_000)
    valid_from = fields.AwareDateTime(format="iso")


class RuleOut(Schema):
    rule_id = fields.String()
    version = fields.Integer()
    code = fields.String()
    name = fields.String()
    category = fields.String()
    category_zh = fields.String()
    trigger = fields.String()
    trigger_zh = fields.String()
    points = fields.Integer()
    daily_cap = fields.Integer(allow_none=True)
    period_cap = fields.Integer(allow_none=True)
    period = fields.String()
    hold_days = fields.Integer()
    valid_from = fields.String()
    valid_until = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": ["active", "scheduled", "ended"]})


class RulesQuery(Schema):
    code = fields.String(required=True, validate=AREA)


# --- manual awards ---------------------------------------------------------------------------
class ManualIn(Schema):
    user_id = _text(64, required=True)
    grid_code = fields.String(required=True, validate=GRID_CODE)
    points = _points(10_000, required=True)
    direction = fields.String(required=True, validate=validate.OneOf(("award", "deduct")))
    reason = _text(200, required=True)
    category = fields.String(allow_none=True, validate=validate.OneOf(CATEGORIES))
    ref = fields.String(allow_none=True, validate=validate.Length(max=64))
    client_id = CLIENT_ID


class DecisionIn(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=200))


class ManualOut(Schema):
    id = fields.String()
    user_id = fields.String()
    grid_code = fields.String()
    points = fields.Integer()
    direction = fields.String()
    reason = fields.String()
    state = fields.String(metadata={"enum": ["awaiting_approval", "applied", "rejected"]})
    requested_by = fields.String()
    decided_by = fields.String(allow_none=True)
    at = fields.String()


class StateQuery(Schema):
    state = fields.String(validate=validate.Length(max=30))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


# --- the worker's points ---------------------------------------------------------------------
class CodePackIn(Schema):
    count = fields.Integer(strict=True, load_default=5, validate=validate.Range(min=1, max=10))


class CodeOut(Schema):
    token = fields.String(metadata={"description": "signed, single use; shown as a QR code"})
    code = fields.String(metadata={"description": "8 digits, for typing at the till"})
    expires_at = fields.String()


class CodePackOut(Schema):
    tokens = fields.List(fields.Nested(CodeOut))
    ttl_seconds = fields.Integer()


class MyPointsOut(Schema):
    user_id = fields.String()
    available = fields.Integer()
    pending = fields.Integer()
    wallets = fields.List(fields.Dict())
    expiring = fields.List(fields.Dict(), metadata={"description": "[{expires_at, points}]"})
    history = fields.List(fields.Dict(), metadata={"description": "entries with their causes"})


# --- supermarkets and the till ---------------------------------------------------------------
class ShopIn(Schema):
    name = _text(40, required=True)
    code = fields.String(required=True, validate=AREA)
    staff = fields.List(_text(64), load_default=list, validate=validate.Length(max=50))
    address = fields.String(validate=validate.Length(max=100))


class ShopChangeIn(Schema):
    version = fields.Integer(strict=True, required=True)
    name = _text(40)
    staff = fields.List(_text(64), validate=validate.Length(max=50))
    address = fields.String(validate=validate.Length(max=100))


class ShopOut(Schema):
    id = fields.String()
    name = fields.String()
    code = fields.String()
    address = fields.String()
    staff = fields.List(fields.String())
    version = fields.Integer()


class _ItemTerms(Schema):
    per_person_limit = _points(1000, allow_none=True)
    unit = fields.String(allow_none=True, validate=validate.Length(max=8))
    active = fields.Boolean()


class ItemIn(_ItemTerms):
    name = _text(40, required=True)
    price = _points(100_000, required=True)
    stock = _points(1_000_000, low=0, required=True)


class ItemChangeIn(_ItemTerms):
    version = fields.Integer(strict=True, required=True)
    name = _text(40)
    price = _points(100_000)
    stock = _points(1_000_000, low=0)


class ItemOut(Schema):
    id = fields.String()
    shop_id = fields.String()
    name = fields.String()
    price = fields.Integer()
    stock = fields.Integer()
    per_person_limit = fields.Integer(allow_none=True)
    unit = fields.String(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()
    may_take = fields.Integer(allow_none=True)


class _Presented(Schema):
    shop_id = _text(64, required=True)
    token = fields.String(validate=validate.Length(min=1, max=300))
    code = fields.String(validate=validate.Length(min=8, max=12))

    @validates_schema
    def one_of(self, data, **_):
        if bool(data.get("token")) == bool(data.get("code")):
            raise ValidationError("the scanned token or the typed code, one of them", "token")


class LookupIn(_Presented):
    pass


class BasketLine(Schema):
    item_id = _text(64, required=True)
    qty = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=99))


class RedeemIn(_Presented):
    items = fields.List(
        fields.Nested(BasketLine), required=True, validate=validate.Length(min=1, max=20)
    )


class LookupOut(Schema):
    token_id = fields.String()
    user_id = fields.String()
    name = fields.String()
    available = fields.Integer()
    expires_at = fields.String()
    shop = fields.Nested(ShopOut)
    items = fields.List(fields.Nested(ItemOut))


class ReceiptLine(Schema):
    item_id = fields.String()
    name = fields.String()
    price = fields.Integer()
    qty = fields.Integer()
    points = fields.Integer()


class ReceiptOut(Schema):
    id = fields.String()
    transfer_id = fields.String()
    shop_id = fields.String()
    shop_name = fields.String()
    cashier = fields.String()
    user_id = fields.String()
    name = fields.String()
    lines = fields.List(fields.Nested(ReceiptLine))
    total = fields.Integer()
    items = fields.Integer()
    balance_after = fields.Integer(allow_none=True)
    state = fields.String(metadata={"enum": ["redeemed", "refunded"]})
    at = fields.String()
    refund = fields.Dict(allow_none=True)


class RefundIn(Schema):
    reason = _text(200, required=True)


class DayQuery(Schema):
    day = fields.Date(format="iso")


# --- statements and reports ------------------------------------------------------------------
class StatementOut(Schema):
    id = fields.String()
    shop_id = fields.String()
    shop_name = fields.String()
    period = fields.String()
    rows = fields.List(
        fields.Dict(), metadata={"description": "[{village, redemptions, points, yuan_fen}]"}
    )
    totals = fields.Dict()
    paid_at = fields.String(allow_none=True)
    paid_by = fields.String(allow_none=True)
    payable = fields.Boolean()


class StatementFileQuery(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class RankingQuery(Schema):
    code = fields.String(required=True, validate=GRID_CODE)
    period = fields.String(required=True, validate=PERIOD)
    by = fields.String(load_default="worker", validate=validate.OneOf(("worker", "grid")))


class AssessmentQuery(Schema):
    code = fields.String(required=True, validate=GRID_CODE)
    year = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$"))


class RankingOut(Schema):
    code = fields.String()
    period = fields.String()
    by = fields.String()
    rows = fields.List(
        fields.Dict(), metadata={"description": "[{rank, id, name, points, awards}]"}
    )


class RefusalOut(Schema):
    id = fields.String()
    user_id = fields.String(allow_none=True)
    trigger = fields.String()
    trigger_zh = fields.String()
    reason = fields.String(
        metadata={
            "enum": ["rule_inactive", "fund_short", "cap_reached", "no_recipient", "reversal_short"]
        }
    )
    reason_zh = fields.String()
    retryable = fields.Boolean()
    state = fields.String()
    at = fields.String()
