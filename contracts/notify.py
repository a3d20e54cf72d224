"""The notify service's events (producer "notify", all version 1) and the gateway's delivery
receipts (producer "gateway"): what keeps open apps live.

The notify service records these through its outbox in the transaction that stores the
messages; every live-stream process of the gateway follows them on one queue of its own and
hands each message to the user's open streams. One event carries a batch of messages (a
dispatch: one; an announcement: up to 500), so a notice to 10,000 residents is 20 events on
the bus, not 10,000.
"""

from __future__ import annotations

from marshmallow import Schema, fields

MESSAGES_CREATED = "messages_created"  # new inbox messages (their views), for open apps
MESSAGES_READ = "messages_read"  # a user read messages: other open apps update the badge
DIGEST_READY = "digest_ready"  # a burst of one kind, told once ("5 件新案件（海兴社区）")
# producer "gateway": messages written to an open stream (the delivery log's "delivered")
MESSAGES_DELIVERED = "messages_delivered"
LIVE_EVENTS = (MESSAGES_CREATED, MESSAGES_READ, DIGEST_READY)


class MessageView(Schema):
    """A message as the inbox and the live stream show it."""

    id = fields.String(required=True)
    user_id = fields.String(required=True)
    seq = fields.Integer(required=True)  # per user, in commit order: the stream's event id
    kind = fields.String(required=True)
    kind_zh = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    critical = fields.Boolean(required=True)
    alert = fields.Boolean(required=True)  # toast / buzz now (false: quiet hours, a digest)
    link = fields.String(allow_none=True)  # where the app opens it
    data = fields.Dict(load_default=dict)  # case_id, number, place, deadline, …
    created_at = fields.String(required=True)
    read_at = fields.String(allow_none=True)


class MessagesCreated(Schema):
    messages = fields.List(fields.Nested(MessageView), required=True)
    actor = fields.String(required=True)


class MessagesRead(Schema):
    user_id = fields.String(required=True)
    ids = fields.List(fields.String(), required=True)  # empty with all=true
    all = fields.Boolean(required=True)
    unread = fields.Integer(required=True)
    actor = fields.String(required=True)


class Digest(Schema):
    user_id = fields.String(required=True)
    kind = fields.String(required=True)
    count = fields.Integer(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    at = fields.String(required=True)


class DigestReady(Schema):
    digests = fields.List(fields.Nested(Digest), required=True)
    actor = fields.String(required=True)


class Receipt(Schema):
    message_id = fields.String(required=True)
    user_id = fields.String(required=True)
    at = fields.String(required=True)


class MessagesDelivered(Schema):
    receipts = fields.List(fields.Nested(Receipt), required=True)
    process = fields.String(required=True)  # which stream process wrote them


EVENTS = {
    MESSAGES_CREATED: MessagesCreated,
    MESSAGES_READ: MessagesRead,
    DIGEST_READY: DigestReady,
    MESSAGES_DELIVERED: MessagesDelivered,
}
