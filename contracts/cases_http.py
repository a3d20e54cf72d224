"""Schemas of the cases service's HTTP API (the closed loop): what the gateway accepts, and
what the service loads once more (services/kit/inputs.load: field limits live here only).

Request schemas reject unknown fields. Times in answers are ISO 8601 strings in UTC; working
hours are numbers of hours (quarters allowed: 0.25 = 15 minutes).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts.grid_vocabulary import VOCABULARY

STATES = tuple(VOCABULARY["case_states"])
ACTIONS = tuple(VOCABULARY["case_actions"])
SOURCES = tuple(VOCABULARY["case_sources"])
LEVELS = tuple(VOCABULARY["case_levels"])
GROUPS = tuple(VOCABULARY["case_groups"])
KINDS = tuple(VOCABULARY["case_kinds"])
STEPS = tuple(VOCABULARY["case_steps"])
# what a person asks for through `transition` (the clock's own actions are not asked for)
PERSON_ACTIONS = tuple(a for a in ACTIONS if a not in ("remind", "overdue"))
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")

CATEGORY_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="2-40 of a-z, 0-9, _")
GRID_CODE = validate.Regexp(r"^\d{2,12}(-\d{1,3}){0,3}$", error="a division or grid code")
CLIENT_ID = fields.String(
    validate=validate.Length(min=8, max=64),
    metadata={"description": "client-made id; the same id and body answer the first result"},
)
PHOTO_IDS = fields.List(
    fields.String(validate=validate.Length(min=1, max=64)),
    validate=validate.Length(max=9),
    load_default=list,
    metadata={"description": "ids of photos uploaded first (POST /api/v1/case-photos)"},
)
# a photo upload's size limit (the PWA compresses to a long side of 1,600 px well below it)
PHOTO_MAX_BYTES = 4 * 1024 * 1024
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="HH:MM")


def _text(top: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=top), **kwargs)


def _hours(**kwargs) -> fields.Float:
    return fields.Float(allow_nan=False, validate=validate.Range(min=0.25, max=2000), **kwargs)


# --- categories and the calendar ----------------------------------------------------------
class AttributeValueIn(Schema):
    key = _text(40, required=True)
    name = _text(80, required=True)


class AttributeIn(Schema):
    """An extra field a report of this category carries (Open311 attributes)."""

    code = fields.String(required=True, validate=CATEGORY_CODE)
    description = _text(200, required=True, metadata={"description": "the question shown"})
    datatype = fields.String(required=True, validate=validate.OneOf(DATATYPES))
    required = fields.Boolean(load_default=False)
    order = fields.Integer(strict=True, validate=validate.Range(min=1, max=99), load_default=1)
    values = fields.List(fields.Nested(AttributeValueIn), validate=validate.Length(max=50))

    @validates_schema
    def _lists_have_values(self, data, **_kwargs):
        listed = data.get("datatype") in ("singlevaluelist", "multivaluelist")
        if listed and not data.get("values"):
            raise ValidationError("a list needs its values", "values")
        if not listed and data.get("values"):
            raise ValidationError("only lists have values", "values")


class LimitsIn(Schema):
    """Working hours each step may take (the handling clock starts at dispatch)."""

    register = _hours(required=True)
    dispatch = _hours(required=True)
    handle = _hours(required=True)
    verify = _hours(required=True)
    acknowledge = _hours(load_default=4.0)


class CategoryIn(Schema):
    code = fields.String(required=True, validate=CATEGORY_CODE)
    name = _text(40, required=True)
    group = fields.String(required=True, validate=validate.OneOf(GROUPS))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    limits = fields.Nested(LimitsIn, required=True)
    description = fields.String(validate=validate.Length(max=500), load_default="")
    keywords = fields.List(_text(20), validate=validate.Length(max=20), load_default=list)
    attributes = fields.List(
        fields.Nested(AttributeIn), validate=validate.Length(max=20), load_default=list
    )
    auto_dispatch = fields.Boolean(
        load_default=True,
        metadata={"description": "grid-level reports go straight to the on-duty worker"},
    )


class CategoryChangeIn(Schema):
    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    name = _text(40)
    group = fields.String(validate=validate.OneOf(GROUPS))
    kind = fields.String(validate=validate.OneOf(KINDS))
    level = fields.String(validate=validate.OneOf(LEVELS))
    limits = fields.Nested(LimitsIn)
    description = fields.String(validate=validate.Length(max=500))
    keywords = fields.List(_text(20), validate=validate.Length(max=20))
    attributes = fields.List(fields.Nested(AttributeIn), validate=validate.Length(max=20))
    auto_dispatch = fields.Boolean()
    retired = fields.Boolean()


class CategoryOut(Schema):
    code = fields.String()
    name = fields.String()
    group = fields.String()
    group_zh = fields.String()
    kind = fields.String()
    kind_zh = fields.String()
    level = fields.String()
    limits = fields.Dict()
    description = fields.String()
    keywords = fields.List(fields.String())
    attributes = fields.List(fields.Dict())
    auto_dispatch = fields.Boolean()
    retired = fields.Boolean()
    version = fields.Integer()


class CalendarIn(Schema):
    """The working calendar: working hours of a day, holidays off, weekend days worked."""

    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    hours = fields.List(
        fields.List(fields.String(validate=HHMM), validate=validate.Length(equal=2)),
        required=True,
        validate=validate.Length(min=1, max=4),
        metadata={"description": 'e.g. [["08:30", "12:00"], ["13:30", "17:30"]]'},
    )
    holidays = fields.List(fields.Date(), validate=validate.Length(max=400), load_default=list)
    workdays = fields.List(
        fields.Date(),
        validate=validate.Length(max=100),
        load_default=list,
        metadata={"description": "weekend days worked (调休)"},
    )


class CalendarOut(Schema):
    version = fields.Integer()
    hours = fields.List(fields.List(fields.String()))
    holidays = fields.List(fields.String())
    workdays = fields.List(fields.String())
    zone = fields.String()


# --- reports ---------------------------------------------------------------------------
class PointIn(Schema):
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))


class CaseContactIn(Schema):
    """Who to call back (hotline, Open311): kept sealed, shown only to staff."""

    name = fields.String(validate=validate.Length(max=40))
    phone = fields.String(validate=validate.Regexp(r"^[0-9+\-() ]{5,20}$"))
    email = fields.Email(validate=validate.Length(max=120))


class CaseIn(Schema):
    client_id = CLIENT_ID
    category = fields.String(required=True, validate=CATEGORY_CODE)
    title = _text(80, metadata={"description": "default: the category's name"})
    description = _text(2000, required=True)
    location = fields.Nested(PointIn, metadata={"description": "a point: located to its grid"})
    grid_code = fields.String(validate=GRID_CODE, metadata={"description": "or the grid itself"})
    address = fields.String(validate=validate.Length(max=200))
    photos = PHOTO_IDS
    visit_id = fields.String(validate=validate.Length(min=1, max=64))
    household_id = fields.String(validate=validate.Length(min=1, max=64))
    attributes = fields.Dict(
        keys=fields.String(validate=CATEGORY_CODE),
        values=fields.Raw(),
        load_default=dict,
        metadata={"description": "the category's extra fields, by code"},
    )
    contact = fields.Nested(CaseContactIn)
    source = fields.String(
        validate=validate.OneOf(SOURCES),
        metadata={"description": "default from the caller's role; hotline/open311 for clients"},
    )

    @validates_schema
    def _somewhere(self, data, **_kwargs):
        if not (data.get("location") or data.get("grid_code") or data.get("visit_id")):
            raise ValidationError("a location, a grid_code or a visit_id", "location")


class TargetIn(Schema):
    """Where a dispatch, reassignment or escalation sends the case."""

    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    user_id = fields.String(validate=validate.Length(min=1, max=64))
    name = fields.String(validate=validate.Length(max=40))
    code = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "a department's code (department level)"},
    )


class TransitionIn(Schema):
    client_id = CLIENT_ID
    action = fields.String(required=True, validate=validate.OneOf(PERSON_ACTIONS))
    version = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1),
        metadata={"description": "the case's version you saw: a stale one is 409 with the case"},
    )
    note = fields.String(validate=validate.Length(max=1000))
    reason = _text(500)
    photos = PHOTO_IDS
    rating = fields.Integer(strict=True, validate=validate.Range(min=1, max=5))
    to = fields.Nested(TargetIn)
    target = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "the other case (merge into it, link with it)"},
    )

    @validates_schema
    def _what_each_action_needs(self, data, **_kwargs):
        action = data.get("action")
        if action in ("cancel", "decline", "return", "reopen", "whistle") and not data.get(
            "reason"
        ):
            raise ValidationError(f"{action} needs a reason", "reason")
        if action == "evaluate" and data.get("rating") is None:
            raise ValidationError("a rating from 1 to 5", "rating")
        if action in ("merge", "link") and not data.get("target"):
            raise ValidationError(f"{action} needs the other case", "target")
        if action == "reassign" and not data.get("to"):
            raise ValidationError("reassign needs where to", "to")


class CaseListQuery(Schema):
    view = fields.String(
        load_default="scope",
        validate=validate.OneOf(("scope", "assigned", "reported", "overdue", "verify")),
        metadata={
            "description": "scope: all I may see; assigned: mine to handle; reported: "
            "mine as reporter or follower; overdue: past or near a limit; verify: to check"
        },
    )
    state = fields.String(validate=validate.OneOf(STATES))
    grid_code = fields.String(validate=GRID_CODE)
    category = fields.String(validate=CATEGORY_CODE)
    limit = fields.Integer(validate=validate.Range(min=1, max=100), load_default=30)
    before = fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "the `next` of the previous page"},
    )


MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="YYYY-MM")


class FiguresQuery(Schema):
    grid_code = fields.String(validate=GRID_CODE)
    start = fields.String(
        validate=MONTH, metadata={"description": "first month (Beijing time), default January"}
    )
    end = fields.String(validate=MONTH, metadata={"description": "last month, default this one"})
    by = fields.String(
        load_default="grid",
        validate=validate.OneOf(("grid", "category", "source", "month")),
    )


class CaseExportQuery(Schema):
    grid_code = fields.String(validate=GRID_CODE)


class BoardQuery(Schema):
    grid_code = fields.String(validate=GRID_CODE)
    limit = fields.Integer(validate=validate.Range(min=1, max=50), load_default=20)
    before = fields.String(validate=validate.Length(max=80))


class PhotoQuery(Schema):
    size = fields.String(load_default="full", validate=validate.OneOf(("full", "thumb")))


# --- answers (for the OpenAPI document; the service's views are the truth) --------------------
class TimelineEntryOut(Schema):
    seq = fields.Integer()
    at = fields.String()
    actor = fields.String()
    actor_name = fields.String(allow_none=True)
    action = fields.String()
    action_zh = fields.String()
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    note = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    photos = fields.List(fields.String())


class CaseOut(Schema):
    id = fields.String()
    number = fields.String()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    category_name = fields.String()
    category_group = fields.String()
    state = fields.String()
    state_zh = fields.String()
    version = fields.Integer()
    source = fields.String()
    grid_code = fields.String()
    grid_name = fields.String(allow_none=True)
    location = fields.Dict(allow_none=True)
    level = fields.String()
    assignee = fields.Dict(allow_none=True)
    handler_id = fields.String(allow_none=True)
    deadline = fields.String(allow_none=True)
    supervised = fields.Boolean()
    photos = fields.List(fields.String())
    possible_duplicates = fields.List(fields.Dict())
    actions = fields.List(fields.String(), metadata={"description": "what the caller may do"})
    timeline = fields.List(fields.Nested(TimelineEntryOut))


class CasePageOut(Schema):
    items = fields.List(fields.Dict())
    next = fields.String(allow_none=True)


class PhotoOut(Schema):
    id = fields.String()
    width = fields.Integer()
    height = fields.Integer()
    bytes = fields.Integer()
    content_type = fields.String()


class CaseMetaOut(Schema):
    photo_max_bytes = fields.Integer()
    photo_max_count = fields.Integer()
    reopen_days = fields.Integer()
    categories = fields.List(fields.Nested(CategoryOut))


class BoardOut(Schema):
    grid_code = fields.String(allow_none=True)
    items = fields.List(fields.Dict())
    figures = fields.List(fields.Dict())
    next = fields.String(allow_none=True)


class FiguresOut(Schema):
    by = fields.String()
    start = fields.String()
    end = fields.String()
    rows = fields.List(fields.Dict())
    total = fields.Dict()
