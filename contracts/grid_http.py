"""Schemas of the grid registry's HTTP API: what the gateway accepts and what it answers.

Request schemas reject unknown fields (marshmallow's default), so a misspelt field is a 400
naming it. Times in answers are ISO 8601 strings in UTC, as the grid service gives them.
Geometry is checked by the grid service (closed rings, no self-intersection, coordinates in
range, inside the parent, no overlap), which names the problem in its 400.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from contracts.grid_vocabulary import (
    DEDICATED_KINDS,
    GRID_KINDS,
    HOUSEHOLD_TAGS,
    PLACE_KINDS,
    POSTS,
    RELATIONS,
    RESERVE_KINDS,
    TENURES,
    VISIT_KINDS,
)

GRID_CODE = r"^\d{12}-\d{3}(-\d{2}){0,2}$"
CODE_PREFIX = r"^\d{2,12}(-\d{1,3}){0,3}$"  # a division or grid code, or a prefix of one
IMPORT_KINDS = ("grids", "households", "places", "staff")
EXPORT_FORMATS = ("csv", "xlsx", "geojson")
PHONE = validate.Regexp(r"^[0-9*+\-]{3,20}$")  # the service judges the number; masks pass
CLIENT_ID = fields.String(
    validate=validate.Length(min=8, max=64),
    metadata={"description": "client-made id; the same id and body answer the first result"},
)


def _grid_code(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(GRID_CODE, error="not a grid code"), **kwargs)


def _text(top: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=top), **kwargs)


# --- divisions and grids ------------------------------------------------------------------
class DivisionIn(Schema):
    code = fields.String(
        required=True, validate=validate.Regexp(r"^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$")
    )
    name = _text(60, required=True)


class DivisionsIn(Schema):
    divisions = fields.List(
        fields.Nested(DivisionIn), required=True, validate=validate.Length(min=1, max=5000)
    )


class DivisionOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String(metadata={"description": "province | city | county | town | village"})
    parent = fields.String(allow_none=True)


class DivisionCountsOut(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()


class GeometryField(fields.Dict):
    """A GeoJSON Polygon or MultiPolygon (WGS 84, [lon, lat])."""


class GridCreateIn(Schema):
    client_id = CLIENT_ID
    code = _grid_code(required=True)
    name = _text(60, required=True)
    kind = fields.String(load_default="comprehensive", validate=validate.OneOf(GRID_KINDS))
    dedicated_kind = fields.String(allow_none=True, validate=validate.OneOf(DEDICATED_KINDS))
    boundary = GeometryField(allow_none=True)


class GridPropertiesIn(Schema):
    """The properties of a grid in a GeoJSON import (others a GIS tool adds are ignored)."""

    class Meta:
        unknown = EXCLUDE

    code = _grid_code(required=True)
    name = _text(60, required=True)
    kind = fields.String(allow_none=True, validate=validate.OneOf(GRID_KINDS))
    dedicated_kind = fields.String(allow_none=True, validate=validate.OneOf(DEDICATED_KINDS))
    level = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=3))


class GridFeatureIn(Schema):
    """One grid of a GeoJSON import: a Feature with its boundary and properties."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.Equal("Feature"))
    geometry = GeometryField(allow_none=True, load_default=None)
    properties = fields.Nested(GridPropertiesIn, required=True)


class GridUpdateIn(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    name = _text(60)
    kind = fields.String(validate=validate.OneOf(GRID_KINDS))
    dedicated_kind = fields.String(allow_none=True, validate=validate.OneOf(DEDICATED_KINDS))
    boundary = GeometryField(allow_none=True)


class VersionIn(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class ChainLinkOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()


class GridOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    parent = fields.String()
    village = fields.String()
    kind = fields.String()
    dedicated_kind = fields.String(allow_none=True)
    version = fields.Integer()
    retired = fields.Boolean()
    updated_at = fields.String(allow_none=True)
    boundary = fields.Dict(allow_none=True)
    chain = fields.List(fields.Nested(ChainLinkOut))


class FeatureCollectionOut(Schema):
    type = fields.String()
    features = fields.List(fields.Dict())


class GridCoverOut(Schema):
    code = fields.String()
    children = fields.Integer()
    uncovered_share = fields.Float(metadata={"description": "0..1 of the grid's area"})
    uncovered_m2 = fields.Float()


class GridWarningOut(Schema):
    code = fields.String()
    name = fields.String()
    rule = fields.String()
    message = fields.String()


class LocateOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    chain = fields.List(fields.Nested(ChainLinkOut))


class NoticeStaffOut(Schema):
    grid_code = fields.String()
    grid_name = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    post = fields.String()
    post_zh = fields.String()
    ab = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class NoticeBoardOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    staff = fields.List(fields.Nested(NoticeStaffOut))


# --- households -------------------------------------------------------------------------
class AddressIn(Schema):
    building = _text(40, required=True)
    unit = fields.String(load_default="", validate=validate.Length(max=40))
    room = _text(40, required=True)


class MemberIn(Schema):
    id = fields.String(metadata={"description": "kept from the file when editing"})
    name = _text(30, required=True)
    relation = fields.String(load_default="other", validate=validate.OneOf(RELATIONS))
    gender = fields.String(allow_none=True, validate=validate.OneOf(["M", "F"]))
    birth_date = fields.String(
        allow_none=True, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$", error="YYYY-MM-DD")
    )
    birth_year = fields.Integer(
        allow_none=True,
        metadata={"description": "as a view shows it; ignored (a file sent back as shown)"},
    )
    id_number = fields.String(
        allow_none=True,
        validate=validate.Length(max=18),
        metadata={"description": "18 characters; a masked number keeps the stored one"},
    )
    phone = fields.String(allow_none=True, validate=PHONE)


class HousingIn(Schema):
    tenure = fields.String(load_default="owned", validate=validate.OneOf(TENURES))
    landlord = fields.String(allow_none=True, validate=validate.Length(max=60))
    landlord_phone = fields.String(allow_none=True, validate=PHONE)


class HouseholdFields(Schema):
    grid_code = _grid_code()
    address = fields.Nested(AddressIn)
    members = fields.List(fields.Nested(MemberIn), validate=validate.Length(min=1, max=50))
    housing = fields.Nested(HousingIn)
    tags = fields.List(fields.String(validate=validate.OneOf(HOUSEHOLD_TAGS)))
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class HouseholdCreateIn(HouseholdFields):
    client_id = CLIENT_ID
    grid_code = _grid_code(required=True)
    address = fields.Nested(AddressIn, required=True)
    members = fields.List(
        fields.Nested(MemberIn), required=True, validate=validate.Length(min=1, max=50)
    )


class HouseholdUpdateIn(HouseholdFields):
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class MemberOut(Schema):
    id = fields.String()
    name = fields.String()
    relation = fields.String(allow_none=True)
    gender = fields.String(allow_none=True)
    birth_year = fields.Integer(
        allow_none=True, metadata={"description": "the year only: never the birth date"}
    )
    id_number = fields.String(
        allow_none=True,
        metadata={"description": "always masked (33************0012); the full number: reveal"},
    )
    phone = fields.String(allow_none=True, metadata={"description": "masked unless role needs"})


class HouseholdOut(Schema):
    id = fields.String()
    grid_code = fields.String()
    address = fields.Dict()
    members = fields.List(fields.Nested(MemberOut))
    housing = fields.Dict()
    tags = fields.List(fields.String())
    tags_zh = fields.List(fields.String())
    note = fields.String(allow_none=True)
    version = fields.Integer()
    created_at = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)
    last_visit_at = fields.String(allow_none=True)
    last_care_at = fields.String(allow_none=True)
    masked = fields.Boolean()


class HouseholdLineOut(Schema):
    id = fields.String()
    grid_code = fields.String()
    address = fields.Dict()
    label = fields.String()
    head = fields.String(allow_none=True)
    members = fields.Integer()
    tags = fields.List(fields.String())
    version = fields.Integer()
    last_visit_at = fields.String(allow_none=True)


class HouseholdPageOut(Schema):
    items = fields.List(fields.Nested(HouseholdLineOut))
    limit = fields.Integer()
    offset = fields.Integer()
    next_offset = fields.Integer(allow_none=True, metadata={"description": "null: last page"})


class HouseholdSearchQuery(Schema):
    name = _text(30)
    tag = fields.String(validate=validate.OneOf(HOUSEHOLD_TAGS))
    building = _text(40)
    grid_code = fields.String(validate=validate.Regexp(CODE_PREFIX, error="not a grid code"))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))


class AuditQuery(Schema):
    kind = fields.String(validate=validate.Length(min=1, max=40))
    actor = fields.String(validate=validate.Length(min=1, max=64))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class GridAuditOut(Schema):
    id = fields.String()
    at = fields.String()
    kind = fields.String(
        metadata={"description": "household_unmasked, id_lookup, id_revealed, reserve_unmasked, …"}
    )
    actor = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    record_id = fields.String(allow_none=True)
    scope = fields.String(
        metadata={"description": "the code the entry is about: grid read, prefix exported…"}
    )
    detail = fields.Dict()


class IdNumberIn(Schema):
    id_number = fields.String(required=True, validate=validate.Length(min=15, max=18))


REASON = [
    validate.Length(min=2, max=200),
    # [\s\S] rather than (?s): the OpenAPI document carries the pattern, and JSON Schema's
    # regexes (ECMA 262) have no inline flags
    validate.Regexp(r"\s*\S[\s\S]*\S", error="say why, in at least two characters"),
]


class RevealReasonIn(Schema):
    """Why the full ID number is needed (kept in the audit with the reveal)."""

    reason = fields.String(required=True, validate=REASON)


class RevealIn(RevealReasonIn):
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RevealOut(Schema):
    household_id = fields.String()
    member_id = fields.String()
    name = fields.String()
    id_number = fields.String(metadata={"description": "the full number; the reveal is audited"})


# --- places and organisations -----------------------------------------------------------
class ContactIn(Schema):
    person = fields.String(allow_none=True, validate=validate.Length(max=30))
    phone = fields.String(allow_none=True, validate=PHONE)


def _location(**kwargs) -> fields.List:
    return fields.List(
        fields.Float(allow_nan=False),
        validate=validate.Length(equal=2),
        metadata={"description": "[longitude, latitude]"},
        **kwargs,
    )


class PlaceCreateIn(Schema):
    client_id = CLIENT_ID
    grid_code = _grid_code(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PLACE_KINDS))
    name = _text(80, required=True)
    address = fields.String(allow_none=True, validate=validate.Length(max=120))
    location = _location(allow_none=True)
    contact = fields.Nested(ContactIn)
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class PlaceUpdateIn(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    grid_code = _grid_code()
    kind = fields.String(validate=validate.OneOf(PLACE_KINDS))
    name = _text(80)
    address = fields.String(allow_none=True, validate=validate.Length(max=120))
    location = _location(allow_none=True)
    contact = fields.Nested(ContactIn)
    note = fields.String(allow_none=True, validate=validate.Length(max=500))


class PlaceListQuery(Schema):
    grid_code = fields.String(
        required=True, validate=validate.Regexp(GRID_CODE, error="not a grid code")
    )
    kind = fields.String(validate=validate.OneOf(PLACE_KINDS))


class PlaceOut(Schema):
    id = fields.String()
    grid_code = fields.String()
    kind = fields.String()
    element = fields.String(
        allow_none=True, metadata={"description": "people | land | event | thing | organisation"}
    )
    name = fields.String()
    address = fields.String(allow_none=True)
    location = fields.List(fields.Float(), allow_none=True)
    contact = fields.Dict()
    note = fields.String(allow_none=True)
    version = fields.Integer()


# --- staff posts, reserve team, party overlay -----------------------------------------------
class PostIn(Schema):
    user_id = _text(64, required=True)
    post = fields.String(required=True, validate=validate.OneOf(POSTS))
    ab = fields.String(allow_none=True, validate=validate.OneOf(["A", "B"]))
    display_name = _text(64, required=True)
    phone = fields.String(allow_none=True, validate=PHONE)
    username = fields.String(allow_none=True, validate=validate.Length(max=64))


class GridPostIn(PostIn):
    """A post with the grid it is on (the grid service's own input, and an import row)."""

    grid_code = _grid_code(required=True)


class AbsenceIn(Schema):
    absent = fields.Boolean(required=True)


class AbsenceQuery(Schema):
    absent = fields.Boolean(required=True)


class PostOut(Schema):
    id = fields.String()
    grid_code = fields.String()
    user_id = fields.String()
    username = fields.String(allow_none=True)
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    post = fields.String()
    post_zh = fields.String()
    ab = fields.String(allow_none=True)
    absent = fields.Boolean()
    change = fields.String(metadata={"description": "created | updated | unchanged (assign)"})


class PostListQuery(Schema):
    subtree = fields.Boolean(load_default=False)


class OnDutyOut(Schema):
    grid_code = fields.String()
    user_id = fields.String(allow_none=True, metadata={"description": "null: nobody on duty"})
    display_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    post = fields.String()
    post_zh = fields.String()
    ab = fields.String(allow_none=True)
    handled_at = fields.String(metadata={"description": "the grid whose post answers"})
    path = fields.List(fields.String())


class ReserveMemberIn(Schema):
    name = _text(30, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(RESERVE_KINDS))
    phone = fields.String(allow_none=True, validate=PHONE)
    user_id = fields.String(allow_none=True, validate=validate.Length(max=64))


class ReserveMemberOut(Schema):
    id = fields.String()
    grid_code = fields.String()
    name = fields.String()
    kind = fields.String()
    phone = fields.String(allow_none=True)
    user_id = fields.String(allow_none=True)
    change = fields.String()


class PartyUnitIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["branch", "group"]))
    name = _text(60, required=True)
    secretary = fields.String(allow_none=True, validate=validate.Length(max=30))
    secretary_user_id = fields.String(allow_none=True, validate=validate.Length(max=64))


class PartyUnitOut(Schema):
    grid_code = fields.String()
    kind = fields.String()
    name = fields.String()
    secretary = fields.String(allow_none=True)
    secretary_user_id = fields.String(allow_none=True)


class PartyMemberIn(Schema):
    name = _text(30, required=True)
    user_id = fields.String(allow_none=True, validate=validate.Length(max=64))
    phone = fields.String(allow_none=True, validate=PHONE)


class PartyLinkIn(Schema):
    member = fields.Nested(PartyMemberIn, required=True)
    household_ids = fields.List(_text(64), required=True, validate=validate.Length(max=500))


class PartyLinkOut(Schema):
    grid_code = fields.String()
    member = fields.String()
    households = fields.Integer()


class PartyOverlayOut(Schema):
    units = fields.List(fields.Dict())
    links = fields.List(fields.Dict())


# --- visits and duties ------------------------------------------------------------------------
class FindingsIn(Schema):
    opinions = fields.List(_text(500), validate=validate.Length(max=50))
    hazards = fields.List(_text(500), validate=validate.Length(max=50))
    disputes = fields.List(_text(500), validate=validate.Length(max=50))


class CaseDraftIn(Schema):
    title = _text(80, required=True)
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    category = fields.String(allow_none=True, validate=validate.Length(max=40))


class VisitIn(Schema):
    client_id = CLIENT_ID
    household_id = _text(64, required=True)
    kind = fields.String(load_default="routine", validate=validate.OneOf(VISIT_KINDS))
    occurred_at = fields.AwareDateTime(
        format="iso", metadata={"description": "ISO 8601 with a time zone; default now"}
    )
    findings = fields.Nested(FindingsIn)
    case_draft = fields.Nested(CaseDraftIn, allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class VoidIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class VisitListQuery(Schema):
    grid_code = fields.String(validate=validate.Regexp(GRID_CODE, error="not a grid code"))
    household_id = _text(64)
    worker_id = _text(64)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @validates_schema
    def one_filter(self, data, **_kwargs):
        if not any(data.get(k) for k in ("grid_code", "household_id", "worker_id")):
            raise ValidationError("give grid_code, household_id or worker_id", "grid_code")


class VisitOut(Schema):
    id = fields.String()
    household_id = fields.String()
    grid_code = fields.String()
    worker_id = fields.String()
    kind = fields.String()
    occurred_at = fields.String()
    recorded_at = fields.String(allow_none=True)
    findings = fields.Dict()
    case_draft = fields.Dict(allow_none=True)
    note = fields.String(allow_none=True)
    voided = fields.Dict(
        allow_none=True, metadata={"description": "{at, by, reason} once struck off"}
    )


class CoverageOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    period = fields.String(metadata={"description": "2024Q3 (levels 2, 3) or 2024 (level 1)"})
    period_start = fields.String()
    period_end = fields.String()
    households = fields.Integer()
    visited = fields.Integer()
    share = fields.Float()
    overdue = fields.Integer()
    care_due = fields.Integer()
    care_done = fields.Integer()
    days_left = fields.Integer()
    visits_by_me = fields.Integer()
    overdue_households = fields.List(fields.Dict())


class MyGridOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    post = fields.String()
    post_zh = fields.String()
    ab = fields.String(allow_none=True)
    absent = fields.Boolean()
    coverage = fields.Nested(CoverageOut)


class DutyGridOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    on_duty = fields.Dict(allow_none=True)
    posts = fields.List(fields.Nested(PostOut))
    coverage = fields.Nested(CoverageOut)


class DutyBoardOut(Schema):
    code = fields.String()
    grids = fields.List(fields.Nested(DutyGridOut))


# --- listing, locating, import and export ---------------------------------------------------
class GridListQuery(Schema):
    prefix = fields.String(validate=validate.Regexp(CODE_PREFIX, error="not a code prefix"))
    level = fields.Integer(validate=validate.Range(min=1, max=3))


class DivisionListQuery(Schema):
    prefix = fields.String(validate=validate.Regexp(r"^\d{1,12}$", error="digits only"))


class GridQuery(Schema):
    boundary = fields.Boolean(load_default=False)


class GeoJsonQuery(Schema):
    depth = fields.Integer(load_default=1, validate=validate.Range(min=0, max=3))


class LocateQuery(Schema):
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))


class DutyBoardQuery(Schema):
    code = fields.String(validate=validate.Regexp(GRID_CODE, error="not a grid code"))


class ImportQuery(Schema):
    dry_run = fields.Boolean(load_default=False)
    filename = fields.String(validate=validate.Length(min=1, max=200))


class ExportQuery(Schema):
    format = fields.String(
        validate=validate.OneOf(EXPORT_FORMATS),
        metadata={"description": "geojson for grids (default), csv (default) or xlsx"},
    )
    prefix = fields.String(validate=validate.Regexp(CODE_PREFIX, error="not a code prefix"))


class BadRowOut(Schema):
    row = fields.Integer()
    problems = fields.Dict()


class ImportReportOut(Schema):
    file = fields.String()
    encoding = fields.String(allow_none=True)
    kind = fields.String()
    rows = fields.Integer()
    bad_rows = fields.List(fields.Nested(BadRowOut))
    bad_row_count = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    applied = fields.Boolean()
    seen_before = fields.Boolean()
