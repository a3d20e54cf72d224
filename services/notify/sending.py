"""Sending what the inbox alone does not: Web Push, SMS for critical messages nobody saw,
and digests of bursts. Failures are retried with back-off (2 s, 4 s … ten minutes), then
kept as dead deliveries an operator can read and replay.

A delivery is claimed by moving its `next_try_at` past now (a lease): two instances never
send the same one at once, and one claimed by an instance that died comes due again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from nameko.timer import timer

from contracts.caller import Caller
from contracts.errors import NotFound
from contracts.notify import DIGEST_READY, DigestReady
from contracts.notify_kinds import KINDS
from services.notify import domain
from services.notify.base import NotifyBase, notify_rpc
from services.notify.channels import ChannelFailed, WebPush, sms_provider

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=30)


class Sending(NotifyBase):
    @timer(interval=1)
    def sending_timer(self):
        self.send_due()
        self.flush_digests()

    @notify_rpc
    def send_due(self, limit: int = 100) -> int:
        """Send the deliveries that are due; how many were tried."""
        tried = 0
        while tried < limit:
            now = self._now()
            delivery = self.store.claim_due_delivery(now, now + LEASE)
            if delivery is None:
                break
            tried += 1
            self._attempt(delivery)
        return tried

    def _attempt(self, delivery: dict) -> None:
        now = self._now()
        attempt = delivery.get("attempts", 0) + 1
        message = self.store.message(delivery["message_id"])
        try:
            if message is None:
                raise ChannelFailed("message gone", permanent=True)
            if delivery["channel"] == "sms":
                skipped = self._seen(message)
                if skipped:
                    self.store.update_delivery(
                        delivery["_id"],
                        {"state": "skipped", "next_try_at": None},
                        {"state": "skipped", "at": now.isoformat(), "detail": skipped},
                    )
                    return
                detail = self._sms(message)
            else:
                detail = self._push(message)
        except ChannelFailed as exc:
            dead = exc.permanent or attempt >= domain.MAX_ATTEMPTS
            state = "dead" if dead else "failed"
            self.store.update_delivery(
                delivery["_id"],
                {
                    "state": state if dead else "queued",
                    "attempts": attempt,
                    "error": exc.reason,
                    "next_try_at": None if dead else now + domain.backoff(attempt),
                    "last_failed_at": now,
                },
                {"state": state, "at": now.isoformat(), "detail": exc.reason},
            )
            return
        self.store.update_delivery(
            delivery["_id"],
            {"state": "sent", "attempts": attempt, "error": None, "next_try_at": None},
            {"state": "sent", "at": now.isoformat(), "detail": detail},
        )

    def _seen(self, message: dict) -> str | None:
        """Why an SMS is not needed: the user read it, or an open app got it."""
        if message.get("read_at"):
            return "已读，不再发短信"
        if any(d["channel"] == "live" for d in self.store.deliveries_of(message["_id"])):
            return "已送达打开的应用，不再发短信"
        return None

    def _push(self, message: dict) -> str:
        subscriptions = self.store.subscriptions_of([message["user_id"]]).get(
            message["user_id"], []
        )
        if not subscriptions:
            raise ChannelFailed("no push subscription", permanent=True)
        payload = {
            "id": message["_id"],
            "title": message["title"],
            "body": message["body"],
            "link": message.get("link"),
        }
        pusher = WebPush()
        sent, errors = 0, []
        for subscription in subscriptions:
            try:
                pusher.send(subscription, payload, bool(message.get("critical")))
                sent += 1
            except ChannelFailed as exc:
                if exc.permanent:  # the browser dropped it: forget the subscription
                    self.store.remove_subscription(subscription["endpoint"])
                errors.append(exc)
        if not sent:
            permanent = all(e.permanent for e in errors)
            raise ChannelFailed("; ".join(e.reason for e in errors), permanent)
        return f"{sent} 台设备"

    def _sms(self, message: dict) -> str:
        user = self.identity.get_user(message["user_id"])
        phone = user.get("phone")
        if not phone:
            raise ChannelFailed("no phone number", permanent=True)
        text = f"【网格连心】{message['title']}：{message['body']}"[:300]
        return sms_provider().send(phone, text)

    # --- digests ----------------------------------------------------------------------------
    @notify_rpc
    def flush_digests(self) -> int:
        """Tell each burst whose window ended as one line; how many digests went out."""
        now = self._now()
        window = self._settings().digest_window
        told = []
        for due in self.store.due_digests(now):
            taken = self.store.take_digest(due["_id"], now, now + window)
            if taken is None:
                continue  # another instance told it
            kind = KINDS[taken["kind"]]
            title, body = domain.digest_text(kind, taken["held"], taken.get("place"))
            told.append(
                {
                    "user_id": taken["user_id"],
                    "kind": kind.code,
                    "count": taken["held"],
                    "title": title,
                    "body": body,
                    "at": now.isoformat(),
                }
            )
        if told:
            self.store.transaction(
                lambda s: self.outbox.record(
                    s,
                    DIGEST_READY,
                    DigestReady().dump({"digests": told, "actor": "service:notify"}),
                )
            )
            self.outbox.wake()
        return len(told)

    # --- dead deliveries (operators) ----------------------------------------------------------
    @notify_rpc
    def dead_deliveries(self, limit: int = 100, *, caller: Caller) -> list:
        self._operator(caller)
        out = []
        for d in self.store.deliveries_in("dead", max(1, min(int(limit), 500))):
            at = d.get("last_failed_at")
            out.append(
                {
                    "id": d["_id"],
                    "source": "delivery",
                    "what": f"{d['channel']} → {d['user_id']}",
                    "error": d.get("error"),
                    "attempts": d.get("attempts", 0),
                    "last_failed_at": at.isoformat() if at else None,
                }
            )
        return out

    @notify_rpc
    def replay_delivery(self, delivery_id: str, *, caller: Caller) -> dict:
        """Queue a dead delivery again, its attempts from zero."""
        self._operator(caller)
        found = self.store.delivery(delivery_id)
        if found is None or found["state"] != "dead":
            raise NotFound(details={"delivery_id": delivery_id})
        now = self._now()
        self.store.update_delivery(
            delivery_id,
            {"state": "queued", "attempts": 0, "next_try_at": now},
            {"state": "queued", "at": now.isoformat(), "detail": f"replayed by {caller.actor}"},
        )
        return {"id": delivery_id, "outcome": "queued"}
