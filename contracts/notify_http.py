"""Schemas of the notifications HTTP API (秒通知): the inbox, preferences, Web Push
subscriptions, templates, announcements (公示公告) and the delivery log.

Request schemas reject unknown fields. Times in answers are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from contracts.grid_vocabulary import HOUSEHOLD_TAGS, POSTS
from contracts.notify import MessageView
from contracts.notify_kinds import AUDIENCE_ROLES, AUDIENCES, CHANNELS, EDITABLE_KINDS, KIND_CODES

CODE = validate.Regexp(r"^\d{2,12}(-\d{1,3}){0,3}$", error="a division or grid code")
CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="HH:MM (Asia/Shanghai)")
TITLE_MAX, BODY_MAX = 60, 2000  # a notice: a headline and what fits a phone screen or two


def _text(top: int, **kw) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=top), **kw)


class InboxQuery(Schema):
    before = fields.Integer(validate=validate.Range(min=1))  # a seq: older than this
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    unread = fields.Boolean(load_default=False)
    kind = fields.String(validate=validate.OneOf(KIND_CODES))


class InboxOut(Schema):
    items = fields.List(fields.Nested(MessageView))
    unread = fields.Integer()
    next_before = fields.Integer(allow_none=True)


class SummaryOut(Schema):
    unread = fields.Integer()
    latest_seq = fields.Integer(metadata={"description": "send as Last-Event-ID to the stream"})
    stream_url = fields.String(metadata={"description": "where the live stream (SSE) is"})
    heartbeat_seconds = fields.Integer()


class ReadIn(Schema):
    ids = fields.List(fields.String(validate=validate.Length(min=1, max=100)))
    all = fields.Boolean(load_default=False)

    @validates_schema
    def one_of(self, data, **_):
        if bool(data.get("ids")) == bool(data.get("all")):
            raise ValidationError("give ids (1 to 200) or all: true", "ids")
        if len(data.get("ids") or []) > 200:
            raise ValidationError("at most 200 ids", "ids")


class ReadOut(Schema):
    read = fields.Integer()
    unread = fields.Integer()


class QuietHours(Schema):
    start = fields.String(required=True, validate=CLOCK)
    end = fields.String(required=True, validate=CLOCK)


class KindPreferenceOut(Schema):
    kind = fields.String()
    kind_zh = fields.String()
    critical = fields.Boolean()
    channels = fields.List(fields.String())
    available = fields.List(fields.String())


class PreferencesOut(Schema):
    kinds = fields.List(fields.Nested(KindPreferenceOut))
    quiet = fields.Nested(QuietHours, allow_none=True)
    channel_labels = fields.Dict()


class PreferencesIn(Schema):
    kinds = fields.Dict(
        keys=fields.String(validate=validate.OneOf(KIND_CODES)),
        values=fields.List(fields.String(validate=validate.OneOf(CHANNELS))),
    )
    quiet = fields.Nested(QuietHours, allow_none=True)


class PushKeyOut(Schema):
    public_key = fields.String(metadata={"description": "VAPID application server key"})


class PushKeysIn(Schema):
    p256dh = _text(200, required=True)
    auth = _text(100, required=True)


class PushSubscriptionIn(Schema):
    endpoint = fields.Url(
        required=True,
        schemes={"https", "http"},
        require_tld=False,
        validate=validate.Length(max=2048),
    )
    keys = fields.Nested(PushKeysIn, required=True)


class TemplateIn(Schema):
    title = _text(80, required=True)
    body = _text(500, required=True)


class TemplateOut(Schema):
    kind = fields.String(validate=validate.OneOf(EDITABLE_KINDS))
    kind_zh = fields.String()
    title = fields.String()
    body = fields.String()
    variables = fields.List(fields.String())
    default_title = fields.String()
    default_body = fields.String()
    edited = fields.Boolean()
    updated_by = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class AudienceIn(Schema):
    """Who a notice reaches: users living or working in a grid subtree (`grid`, by role),
    the holders of staff posts there (`posts`), or the households with a tag there (`tag`:
    the staff who serve them carry it to the door)."""

    kind = fields.String(required=True, validate=validate.OneOf(AUDIENCES))
    code = fields.String(required=True, validate=CODE)
    roles = fields.List(
        fields.String(validate=validate.OneOf(AUDIENCE_ROLES)), validate=validate.Length(min=1)
    )
    posts = fields.List(
        fields.String(validate=validate.OneOf(POSTS)), validate=validate.Length(min=1)
    )
    tag = fields.String(validate=validate.OneOf(HOUSEHOLD_TAGS))

    @validates_schema
    def fits_kind(self, data, **_):
        if data["kind"] == "posts" and not data.get("posts"):
            raise ValidationError("name the posts", "posts")
        if data["kind"] == "tag" and not data.get("tag"):
            raise ValidationError("name the tag", "tag")


class PreviewIn(Schema):
    audience = fields.Nested(AudienceIn, required=True)


class PreviewOut(Schema):
    people = fields.Integer(metadata={"description": "how many people it reaches"})
    by_role = fields.Dict(metadata={"description": "residents, staff … (Chinese labels)"})
    households = fields.Integer(allow_none=True)
    audience_zh = fields.String()


class AnnouncementIn(Schema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=TITLE_MAX, error="标题应为 1 到 {max} 个字"),
    )
    body = fields.String(
        required=True,
        validate=validate.Length(min=1, max=BODY_MAX, error="正文应为 1 到 {max} 个字"),
    )
    audience = fields.Nested(AudienceIn, required=True)
    urgent = fields.Boolean(load_default=False)
    client_id = fields.String(validate=validate.Length(min=8, max=64))

    @validates_schema
    def not_blank(self, data, **_):
        for name in ("title", "body"):
            if not str(data.get(name, "")).strip():
                raise ValidationError("不能只有空白", name)


class AnnouncementOut(Schema):
    id = fields.String()
    title = fields.String()
    body = fields.String()
    audience = fields.Dict()
    audience_zh = fields.String()
    urgent = fields.Boolean()
    sender = fields.Dict()
    state = fields.String(metadata={"description": "resolving | sending | done | failed"})
    total = fields.Integer(allow_none=True)
    done = fields.Integer()
    read = fields.Integer()
    progress = fields.Float()
    errors = fields.List(fields.String())
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)


class PeopleOut(Schema):
    items = fields.List(fields.Dict())
    total = fields.Integer()


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    skip = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))


class DeliveryOut(Schema):
    channel = fields.String()
    state = fields.String(
        metadata={"description": "queued | sent | delivered | read | failed | dead | skipped"}
    )
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    history = fields.List(fields.Dict())


class DeliveryLogOut(Schema):
    message = fields.Nested(MessageView)
    deliveries = fields.List(fields.Nested(DeliveryOut))


class DeadLetterOut(Schema):
    id = fields.String()
    source = fields.String(metadata={"description": "event (a consumer) | delivery (a channel)"})
    what = fields.String()
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_failed_at = fields.String(allow_none=True)
