"""The message aggregate: how a draft becomes a stored message, its deliveries and the live
event, in the caller's transaction. Every message of every kind (an event's, a digest's, an
announcement's) is written here, once:

    views = messages.deliver(store, outbox, session, drafts, now)

- the text comes from the kind's template (an operator's edit, else the default), filled in;
- the user's preferences decide how it tells them (`domain.telling`): a toast in an open
  app, a Web Push, an SMS if a critical message is not seen in time, or held for a digest;
- the store numbers it in the user's mailbox (`reserve_numbers`, which also answers the
  user's preferences and push subscriptions), and it is inserted;
- Web Push and SMS deliveries are queued in the same transaction (sent and retried by
  `sending.py`), and one `messages_created` event carries the views to the open apps.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contracts.notify import MESSAGES_CREATED, MessagesCreated, MessageView
from contracts.notify_kinds import KINDS, Kind
from services.notify import domain

ACTOR = "service:notify"


@dataclass(frozen=True)
class Draft:
    """A message to one user, before it has words, a number or channels."""

    user_id: str
    kind: str
    values: dict[str, Any]  # the template's variables
    source: str  # the event id (or announcement id) it came from: one message per source+user
    critical: bool = False
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # what the app shows beside the text
    place: str | None = None  # for a digest's "（海兴社区）"
    announcement_id: str | None = None
    to_name: str | None = None  # the recipient's name, for "who has not read it"

    @property
    def message_id(self) -> str:
        raw = f"{self.source}:{self.user_id}"
        return raw if len(raw) <= 80 else hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass
class Settings:
    digest_window: timedelta = timedelta(seconds=60)
    sms_grace: timedelta = timedelta(seconds=120)


def texts(kind: Kind, templates: dict[str, dict], values: dict[str, Any]) -> tuple[str, str]:
    edited = templates.get(kind.code) if kind.editable else None
    title = (edited or {}).get("title") or kind.title
    body = (edited or {}).get("body") or kind.body
    return domain.render(title, values)[:200], domain.render(body, values)[:4000]


def deliver(
    store: Any,
    outbox: Any,
    session: Any,
    drafts: list[Draft],
    now: datetime,
    settings: Settings | None = None,
    templates: dict[str, dict] | None = None,
) -> list[dict]:
    """Store the drafts as messages with their deliveries and live event; their views."""
    if not drafts:
        return []
    settings = settings or Settings()
    templates = store.templates() if templates is None else templates
    counts: dict[str, int] = {}
    for draft in drafts:
        counts[draft.user_id] = counts.get(draft.user_id, 0) + 1
    boxes = store.reserve_numbers(counts, session)
    numbers = {u: boxes[u]["seq"] - n for u, n in counts.items()}
    docs, outward = [], []
    for draft in drafts:
        kind = KINDS[draft.kind]
        box = boxes[draft.user_id]
        mine = box.get("prefs")
        quiet = domain.in_quiet_hours((mine or {}).get("quiet"), now)
        digest_open = False
        if kind.digest and not draft.critical and not quiet:
            until = now + settings.digest_window
            digest_open = store.digest_window(
                draft.user_id, kind.code, now, until, draft.place, session
            )
        told = domain.telling(kind, draft.critical, mine, now, digest_open)
        title, body = texts(kind, templates, draft.values)
        numbers[draft.user_id] += 1
        doc = {
            "_id": draft.message_id,
            "user_id": draft.user_id,
            "seq": numbers[draft.user_id],
            "kind": kind.code,
            "title": title,
            "body": body,
            "critical": draft.critical,
            "alert": told.alert,
            "link": draft.link,
            "data": draft.data,
            "source": draft.source,
            "created_at": now,
            "read_at": None,
        }
        if draft.announcement_id:
            doc["announcement_id"] = draft.announcement_id
            doc["to_name"] = draft.to_name
        docs.append(doc)
        if told.push and box.get("push"):
            outward.append(_delivery(doc, "push", "queued", now, now))
        if told.sms:
            outward.append(_delivery(doc, "sms", "waiting", now, now + settings.sms_grace))
    store.insert_messages(docs, session)
    store.put_deliveries(outward, session)
    views = [view(d) for d in docs]
    outbox.record(
        session, MESSAGES_CREATED, MessagesCreated().dump({"messages": views, "actor": ACTOR})
    )
    return views


def _delivery(doc: dict, channel: str, state: str, now: datetime, due: datetime) -> dict:
    return {
        "_id": f"{doc['_id']}:{channel}",
        "message_id": doc["_id"],
        "user_id": doc["user_id"],
        "channel": channel,
        "state": state,
        "critical": doc["critical"],
        "attempts": 0,
        "next_try_at": due,
        "created_at": now,
        "error": None,
        "history": [{"state": state, "at": now.isoformat(), "detail": None}],
    }


def view(doc: dict) -> dict:
    """The message as the inbox, the live stream and the PWA show it (MessageView)."""
    kind = KINDS.get(doc["kind"])
    return MessageView().dump(
        {
            "id": doc["_id"],
            "user_id": doc["user_id"],
            "seq": doc["seq"],
            "kind": doc["kind"],
            "kind_zh": kind.label if kind else doc["kind"],
            "title": doc["title"],
            "body": doc["body"],
            "critical": bool(doc.get("critical")),
            "alert": bool(doc.get("alert")),
            "link": doc.get("link"),
            "data": doc.get("data") or {},
            "created_at": _iso(doc["created_at"]),
            "read_at": _iso(doc.get("read_at")),
        }
    )


def _iso(at: Any) -> str | None:
    if at is None:
        return None
    return at.isoformat() if isinstance(at, datetime) else str(at)
