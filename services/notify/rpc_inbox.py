"""A user's side: the inbox (paged, unread count, mark read), the live stream's replay, the
delivery log, preferences, Web Push subscriptions; the operator's templates; and the
`echo` receipts the PWA's offline outbox uses."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from contracts.caller import Caller
from contracts.errors import NotFound, ValidationFailed
from contracts.notify import MESSAGES_READ, MessagesRead
from contracts.notify_http import PreferencesIn, PushSubscriptionIn, TemplateIn
from contracts.notify_kinds import CHANNEL_LABELS, EDITABLE_KINDS, KINDS
from services.kit.inputs import load
from services.notify import domain, messages
from services.notify.base import NotifyBase, notify_rpc
from services.notify.channels import vapid_public_key

REPLAY_MAX = 200


class InboxRpc(NotifyBase):
    # --- the inbox --------------------------------------------------------------------------
    @notify_rpc
    def inbox(
        self,
        before: int | None = None,
        limit: int = 20,
        unread: bool = False,
        kind: str | None = None,
        *,
        caller: Caller,
    ) -> dict:
        """My messages, newest first: {items, unread, next_before} (`before`: a seq; `kind`:
        one kind only, e.g. announcement)."""
        limit = max(1, min(int(limit), 100))
        docs = self.store.inbox(caller.actor, before, limit, bool(unread), kind)
        items = [messages.view(d) for d in docs]
        more = len(items) == limit and items[-1]["seq"] > 1
        return {
            "items": items,
            "unread": self.store.mailbox(caller.actor).get("unread", 0),
            "next_before": items[-1]["seq"] if more else None,
        }

    @notify_rpc
    def summary(self, *, caller: Caller) -> dict:
        """{unread, latest_seq}: the badge, and where a fresh stream starts."""
        box = self.store.mailbox(caller.actor)
        return {"unread": max(0, box.get("unread", 0)), "latest_seq": box.get("seq", 0)}

    @notify_rpc
    def messages_since(self, seq: int, limit: int = REPLAY_MAX, *, caller: Caller) -> list:
        """My messages after `seq`, oldest first: what a stream that reconnects missed."""
        limit = max(1, min(int(limit), REPLAY_MAX + 1))
        return [messages.view(d) for d in self.store.messages_since(caller.actor, int(seq), limit)]

    @notify_rpc
    def mark_read(self, ids: list | None = None, all: bool = False, *, caller: Caller) -> dict:
        """Mark some of my messages (or all) read: {read, unread}. Reading twice is once."""
        if not all and not ids:
            raise ValidationFailed(details={"ids": "give ids or all"})
        now = self._now()

        def work(session):
            done, unread = self.store.mark_read(
                caller.actor, None if all else list(ids or []), now, session
            )
            if done:
                payload = {
                    "user_id": caller.actor,
                    "ids": [] if all else done,
                    "all": bool(all),
                    "unread": unread,
                    "actor": caller.actor,
                }
                self.outbox.record(session, MESSAGES_READ, MessagesRead().dump(payload))
            return done, unread

        done, unread = self.store.transaction(work)
        self.outbox.wake()
        return {"read": len(done), "unread": unread}

    @notify_rpc
    def delivery_log(self, message_id: str, *, caller: Caller) -> dict:
        """The message and each channel's log: queued, sent, delivered to an open app,
        read, failed and why. The recipient's own, or any for an operator."""
        doc = self.store.message(message_id)
        if doc is None or not (doc["user_id"] == caller.actor or caller.has_role("operator")):
            raise NotFound(details={"message_id": message_id})
        view = messages.view(doc)
        inbox = [{"state": "sent", "at": view["created_at"], "detail": "收件箱"}]
        if view["read_at"]:
            inbox.append({"state": "read", "at": view["read_at"], "detail": None})
        logs = [
            {
                "channel": "inbox",
                "state": inbox[-1]["state"],
                "attempts": 1,
                "error": None,
                "history": inbox,
            }
        ]
        for d in sorted(self.store.deliveries_of(message_id), key=lambda d: d["channel"]):
            logs.append({k: d.get(k) for k in ("channel", "state", "attempts", "error", "history")})
        return {"message": view, "deliveries": logs}

    # --- preferences ------------------------------------------------------------------------
    @notify_rpc
    def preferences(self, *, caller: Caller) -> dict:
        mine = self.store.preferences(caller.actor) or {}
        kinds = []
        for kind in KINDS.values():
            kinds.append(
                {
                    "kind": kind.code,
                    "kind_zh": kind.label,
                    "critical": kind.critical,
                    "channels": sorted(domain.channels_of(mine, kind)),
                    "available": domain.available_channels(kind),
                }
            )
        return {"kinds": kinds, "quiet": mine.get("quiet"), "channel_labels": CHANNEL_LABELS}

    @notify_rpc
    def set_preferences(self, data: dict, *, caller: Caller) -> dict:
        """Channels per kind (SMS only where the kind is critical) and quiet hours."""
        data = load(PreferencesIn(), data)
        mine = self.store.preferences(caller.actor) or {"kinds": {}}
        kinds = dict(mine.get("kinds") or {})
        for code, channels in (data.get("kinds") or {}).items():
            allowed = domain.available_channels(KINDS[code])
            bad = [c for c in channels if c not in allowed]
            if bad:
                raise ValidationFailed(
                    details={f"kinds.{code}": f"{KINDS[code].label}不能用：{'、'.join(bad)}"}
                )
            kinds[code] = sorted(set(channels))
        quiet = data["quiet"] if "quiet" in data else mine.get("quiet")
        self.store.put_preferences(
            caller.actor, {"kinds": kinds, "quiet": quiet, "updated_at": self._now()}
        )
        return self.preferences(caller=caller)

    # --- Web Push subscriptions -----------------------------------------------------------
    @notify_rpc
    def push_key(self) -> dict:
        return {"public_key": vapid_public_key()}

    @notify_rpc
    def subscribe_push(self, data: dict, user_agent: str | None = None, *, caller: Caller) -> dict:
        data = load(PushSubscriptionIn(), data)
        endpoint = data["endpoint"]
        self.store.put_subscription(
            {
                "_id": hashlib.sha256(endpoint.encode()).hexdigest(),
                "user_id": caller.actor,
                "endpoint": endpoint,
                "keys": data["keys"],
                "user_agent": (user_agent or "")[:200],
                "created_at": self._now(),
            }
        )
        return {"subscribed": True}

    @notify_rpc
    def unsubscribe_push(self, endpoint: str, *, caller: Caller) -> dict:
        return {"removed": self.store.remove_subscription(endpoint, caller.actor)}

    # --- templates (operators) --------------------------------------------------------------
    @notify_rpc
    def templates(self, *, caller: Caller) -> list:
        self._operator(caller)
        edited = self.store.templates()
        return [self._template_view(code, edited.get(code)) for code in EDITABLE_KINDS]

    @notify_rpc
    def set_template(self, kind: str, data: dict, *, caller: Caller) -> dict:
        """Save an operator's template; an unknown variable is refused, naming it."""
        self._operator(caller)
        if kind not in EDITABLE_KINDS:
            raise NotFound(details={"kind": kind})
        data = load(TemplateIn(), data)
        problems = domain.check_template(KINDS[kind], data["title"], data["body"])
        if problems:
            raise ValidationFailed(details=problems)
        doc = {
            "title": data["title"],
            "body": data["body"],
            "updated_by": caller.actor,
            "updated_at": self._now(),
        }
        self.store.put_template(kind, doc)
        return self._template_view(kind, doc)

    @staticmethod
    def _template_view(code: str, edited: dict | None) -> dict:
        kind = KINDS[code]
        at = (edited or {}).get("updated_at")
        return {
            "kind": code,
            "kind_zh": kind.label,
            "title": (edited or {}).get("title") or kind.title,
            "body": (edited or {}).get("body") or kind.body,
            "variables": list(kind.variables),
            "default_title": kind.title,
            "default_body": kind.body,
            "edited": edited is not None,
            "updated_by": (edited or {}).get("updated_by"),
            "updated_at": at.isoformat() if isinstance(at, datetime) else at,
        }

    # --- echo: receipts for the PWA's offline outbox -----------------------------------------
    @notify_rpc
    def echo(self, user_id: str, client_id: str, payload=None) -> dict:
        """Receipt for one client-numbered write; a replay gets the first receipt back."""
        first_time: list[bool] = []

        def receive(session) -> dict:
            receipt = {
                "client_id": client_id,
                "user_id": user_id,
                "received_at": datetime.now(timezone.utc).isoformat(),
            }
            self.store.insert_receipt(dict(receipt, payload=payload), session)
            first_time.append(True)
            return receipt

        receipt = self.store.run_command(
            "echo", f"{user_id}:{client_id}", {"payload": payload}, receive
        )
        return dict(receipt, replay=not first_time)
