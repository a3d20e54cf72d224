"""Notifications (秒通知): my inbox and its unread count, the delivery log of a message, my
preferences and Web Push subscriptions; the operator's templates and dead letters; and
announcements (公示公告) with their preview, progress, read counts and who has not read.

The live stream itself is not here: it runs as its own app under an async worker
(gateway/livestream), and `GET /api/v1/notify/summary` tells the app where it is.
Every route passes the caller as `caller=`; the notify service checks roles and scope again.
"""

from __future__ import annotations

import os

from flask import Blueprint, current_app, jsonify, request

from contracts import notify_http as s
from contracts.notify_kinds import PUBLISHERS
from gateway.api.grid_access import client_id, query
from gateway.body import json_body
from gateway.livestream.url import stream_url
from gateway.security import (
    authenticated,
    current_caller,
    current_principal,
    requires_roles,
)

bp = Blueprint("notify", __name__, url_prefix="/api/v1/notify")
OPERATORS = ("operator",)


def notify(method: str, *args, **kwargs):
    return current_app.extensions["rpc"].call(
        "notify", method, *args, caller=current_caller(), **kwargs
    )


def heartbeat_seconds() -> int:
    return int(os.environ.get("STREAM_HEARTBEAT_SECONDS", "20"))


# --- my inbox ---------------------------------------------------------------------------------
@bp.get("/messages")
@authenticated()
def inbox():
    """My messages, newest first, 20 a page (`before`: the seq to page back from).
    ---
    security: bearer
    parameters: [before, limit, unread, kind]
    responses: {200: InboxOut, 400: Error, 401: Error}
    """
    args = query(s.InboxQuery())
    found = notify("inbox", args.get("before"), args["limit"], args["unread"], args.get("kind"))
    return jsonify(found)


@bp.get("/summary")
@authenticated()
def summary():
    """The unread badge, and where the live stream is and where it starts (latest_seq:
    send it as Last-Event-ID).
    ---
    security: bearer
    responses: {200: SummaryOut, 401: Error}
    """
    found = notify("summary")
    return jsonify({**found, "stream_url": stream_url(), "heartbeat_seconds": heartbeat_seconds()})


@bp.post("/messages/read")
@authenticated()
def mark_read():
    """Mark messages read ({ids: [...]}) or all of mine ({all: true}); reading twice is once.
    ---
    security: bearer
    requestBody: ReadIn
    responses: {200: ReadOut, 400: Error, 401: Error}
    """
    data = json_body(s.ReadIn())
    return jsonify(notify("mark_read", data.get("ids"), data.get("all", False)))


@bp.get("/messages/<message_id>/log")
@authenticated()
def delivery_log(message_id: str):
    """The delivery log of one of my messages (an operator: anyone's): per channel, queued,
    sent, delivered to an open app, read, failed and why.
    ---
    security: bearer
    responses: {200: DeliveryLogOut, 401: Error, 404: Error}
    """
    return jsonify(notify("delivery_log", message_id))


# --- my preferences and phones ---------------------------------------------------------------
@bp.get("/preferences")
@authenticated()
def preferences():
    """My channels per kind and my quiet hours (critical kinds ignore quiet hours).
    ---
    security: bearer
    responses: {200: PreferencesOut, 401: Error}
    """
    return jsonify(notify("preferences"))


@bp.put("/preferences")
@authenticated()
def set_preferences():
    """Change channels per kind (SMS only for critical kinds) and quiet hours (null: none).
    ---
    security: bearer
    requestBody: PreferencesIn
    responses: {200: PreferencesOut, 400: Error, 401: Error}
    """
    return jsonify(notify("set_preferences", json_body(s.PreferencesIn())))


@bp.get("/push/key")
@authenticated()
def push_key():
    """The VAPID application server key to subscribe this phone to Web Push with.
    ---
    security: bearer
    responses: {200: PushKeyOut, 401: Error}
    """
    return jsonify(current_app.extensions["rpc"].call("notify", "push_key"))


@bp.post("/push/subscriptions")
@authenticated()
def subscribe_push():
    """Keep this phone's push subscription (an extra: where the browser's push service is
    unreachable nothing depends on it).
    ---
    security: bearer
    requestBody: PushSubscriptionIn
    responses: {201: null, 400: Error, 401: Error}
    """
    data = json_body(s.PushSubscriptionIn())
    return jsonify(notify("subscribe_push", data, request.headers.get("User-Agent"))), 201


@bp.delete("/push/subscriptions")
@authenticated()
def unsubscribe_push():
    """Forget this phone's push subscription ({endpoint, keys} as subscribed).
    ---
    security: bearer
    requestBody: PushSubscriptionIn
    responses: {200: null, 400: Error, 401: Error}
    """
    data = json_body(s.PushSubscriptionIn())
    return jsonify(notify("unsubscribe_push", data["endpoint"]))


# --- operators: templates and dead letters ----------------------------------------------------
@bp.get("/templates")
@requires_roles(*OPERATORS)
def templates():
    """The message templates (Simplified Chinese), with their variables and defaults.
    ---
    security: bearer
    responses: {200: [TemplateOut], 401: Error, 403: Error}
    """
    return jsonify(notify("templates"))


@bp.put("/templates/<kind>")
@requires_roles(*OPERATORS)
def set_template(kind: str):
    """Change a kind's template; a variable the kind does not have is a 400 naming it.
    ---
    security: bearer
    requestBody: TemplateIn
    responses: {200: TemplateOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(notify("set_template", kind, json_body(s.TemplateIn())))


@bp.get("/dead-letters")
@requires_roles(*OPERATORS)
def dead_letters():
    """What kept failing: events no handler could apply, and deliveries (push, SMS) out of
    tries. Replay one with POST …/dead-letters/{id}/replay.
    ---
    security: bearer
    responses: {200: [DeadLetterOut], 401: Error, 403: Error}
    """
    events = [
        {
            "id": d["id"],
            "source": "event",
            "what": f"{d.get('event_type')} → {d.get('handler')}",
            "error": d.get("error"),
            "attempts": d.get("attempts", 0),
            "last_failed_at": d.get("last_failed_at"),
        }
        for d in notify("dead_letters")
    ]
    return jsonify(events + notify("dead_deliveries"))


@bp.post("/dead-letters/<path:letter_id>/replay")
@requires_roles(*OPERATORS)
def replay(letter_id: str):
    """Run a dead event's handler again, or queue a dead delivery again.
    ---
    security: bearer
    responses: {200: null, 401: Error, 403: Error, 404: Error}
    """
    source = request.args.get("source", "event")
    method = "replay_delivery" if source == "delivery" else "replay_dead_letter"
    return jsonify(notify(method, letter_id))


# --- announcements ---------------------------------------------------------------------------
@bp.post("/announcements/preview")
@requires_roles(*PUBLISHERS)
def preview():
    """How many people a notice to this audience reaches (the server's rule, counted now).
    An audience outside my scopes is 403.
    ---
    security: bearer
    requestBody: PreviewIn
    responses: {200: PreviewOut, 400: Error, 401: Error, 403: Error}
    """
    data = json_body(s.PreviewIn())
    return jsonify(notify("preview_announcement", data["audience"]))


@bp.post("/announcements")
@requires_roles(*PUBLISHERS)
def publish():
    """Publish a notice: 202 with the job (state, done/total) to follow at
    GET …/announcements/{id}. Empty or oversized: 400; an audience outside my scopes: 403;
    nothing is sent then. The same Idempotency-Key and body answer the same job.
    ---
    security: bearer
    requestBody: AnnouncementIn
    responses: {202: AnnouncementOut, 400: Error, 401: Error, 403: Error, 409: Error}
    """
    data = json_body(s.AnnouncementIn())
    cid = client_id(data)
    job = notify("publish_announcement", data, cid, current_principal().name or None)
    return jsonify(job), 202


@bp.get("/announcements")
@requires_roles(*PUBLISHERS)
def announcements():
    """Notices sent to areas inside my scopes, newest first, with progress and read counts.
    ---
    security: bearer
    responses: {200: [AnnouncementOut], 401: Error, 403: Error}
    """
    return jsonify(notify("announcements"))


@bp.get("/announcements/<announcement_id>")
@authenticated()
def announcement(announcement_id: str):
    """One notice's job: state, done/total, progress, read count.
    ---
    security: bearer
    responses: {200: AnnouncementOut, 401: Error, 404: Error}
    """
    return jsonify(notify("announcement", announcement_id))


@bp.get("/announcements/<announcement_id>/unread")
@authenticated()
def unread(announcement_id: str):
    """Who has not read the notice yet, by name, paged.
    ---
    security: bearer
    parameters: [limit, skip]
    responses: {200: PeopleOut, 400: Error, 401: Error, 404: Error}
    """
    args = query(s.PageQuery())
    return jsonify(notify("announcement_unread", announcement_id, args["limit"], args["skip"]))
