"""Announcements (公示公告 / 通知): preview, publish, follow the job, read counts and who has
not read. See `announcements.py` for the aggregate and the job's shape."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import timedelta

from nameko.timer import timer

from contracts.caller import Caller
from contracts.errors import Forbidden, LianxinError, NotFound
from contracts.notify_http import AnnouncementIn, AudienceIn
from contracts.notify_kinds import PUBLISHERS, URGENT_PUBLISHERS
from services.kit.inputs import load
from services.notify import announcements, messages
from services.notify.base import NotifyBase, notify_rpc

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
OWNER = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
MAX_FAILURES = 5


class AnnouncementRpc(NotifyBase):
    def _may_publish(self, audience: dict, caller: Caller, urgent: bool = False) -> None:
        if not (caller.is_trusted or caller.has_role(*PUBLISHERS)):
            raise Forbidden(details={"required_roles": list(PUBLISHERS)})
        caller.require_writable(audience["code"], "audience.code")  # 403 outside my scopes
        if urgent and not (caller.is_trusted or caller.has_role(*URGENT_PUBLISHERS)):
            raise Forbidden(details={"urgent": "紧急通知（战时指令）只能由镇街及以上发布"})

    @notify_rpc
    def preview_announcement(self, audience: dict, *, caller: Caller) -> dict:
        """How many people a notice to `audience` reaches (the same rule the job uses)."""
        audience = load(AudienceIn(), audience)
        self._may_publish(audience, caller)
        people = self._directory()
        found, households = announcements.resolve(audience, people)
        return {
            "people": len(found),
            "by_role": announcements.by_role(found),
            "households": households,
            "audience_zh": announcements.describe(audience, people),
        }

    @notify_rpc
    def publish_announcement(
        self, data: dict, client_id: str, sender_name: str | None = None, *, caller: Caller
    ) -> dict:
        """Publish a notice: the job is recorded and runs in the background; answers its view
        (state `resolving`, progress 0). The same client id and body answer the same job."""
        data = load(AnnouncementIn(), data)
        data.pop("client_id", None)
        self._may_publish(data["audience"], caller, data.get("urgent", False))
        now = self._now()
        sender = {"id": caller.actor, "name": sender_name or caller.actor}
        audience_zh = announcements.describe(data["audience"], self._directory())

        def create(session):
            doc = announcements.record(data, sender, audience_zh, now)
            self.store.insert_announcement(doc, session)
            return doc["_id"]

        body = {k: data[k] for k in ("title", "body", "audience", "urgent")}
        announcement_id = self.store.run_command(
            "announce", f"{caller.actor}:{client_id}", body, create
        )
        return announcements.view(self.store.announcement(announcement_id))

    def _visible(self, announcement_id: str, caller: Caller) -> dict:
        doc = self.store.announcement(announcement_id)
        if doc is None or not (
            doc["sender"]["id"] == caller.actor
            or (caller.has_role(*PUBLISHERS) and caller.covers(doc["code"]))
        ):
            raise NotFound(details={"announcement_id": announcement_id})
        return doc

    @notify_rpc
    def announcement(self, announcement_id: str, *, caller: Caller) -> dict:
        """The job's progress and the read count (the sender or publishers over its area)."""
        doc = self._visible(announcement_id, caller)
        return announcements.view(doc, self.store.read_count(announcement_id))

    @notify_rpc
    def announcements(self, limit: int = 50, *, caller: Caller) -> list:
        """Notices sent to areas inside my scopes, newest first, with read counts."""
        if not caller.has_role(*PUBLISHERS):
            raise Forbidden(details={"required_roles": list(PUBLISHERS)})
        docs = self.store.announcements_under(caller.prefixes(), max(1, min(int(limit), 100)))
        return [announcements.view(d, self.store.read_count(d["_id"])) for d in docs]

    @notify_rpc
    def announcement_unread(
        self, announcement_id: str, limit: int = 50, skip: int = 0, *, caller: Caller
    ) -> dict:
        """Who has not read it yet: {items: [{user_id, name}], total}."""
        doc = self._visible(announcement_id, caller)
        found = self.store.unread_people(announcement_id, int(limit), int(skip))
        return {
            "items": [{"user_id": d["user_id"], "name": d.get("to_name") or ""} for d in found],
            "total": max(0, doc.get("done", 0) - doc.get("read", 0)),  # kept on the record
        }

    # --- the job ----------------------------------------------------------------------------
    @timer(interval=1)
    def announcement_timer(self):
        self.run_jobs()

    @notify_rpc
    def run_jobs(self) -> int:
        """Run every announcement job that is due (new, or whose runner's lease ran out);
        how many ran. Safe on any number of instances: a job has one runner at a time."""
        ran = 0
        while True:
            now = self._now()
            job = self.store.claim_job(now, OWNER, now + LEASE)
            if job is None:
                return ran
            ran += 1
            try:
                self._run(job)
            except LianxinError as exc:  # a peer did not answer: try again shortly
                self._failed(job, f"{exc.code}: {exc.details}")
            except Exception as exc:
                log.exception("announcement %s failed", job["_id"])
                self._failed(job, f"{type(exc).__name__}: {exc}")

    def _run(self, job: dict) -> None:
        if job["state"] == "resolving":
            found, _ = announcements.resolve(job["audience"], self._directory())
            self.store.put_batches(job["_id"], announcements.batches(found))
            self.store.set_announcement(job["_id"], {"state": "sending", "total": len(found)})
            job = self.store.announcement(job["_id"]) or job
        settings = self._settings()
        for batch in self.store.pending_batches(job["_id"]):
            if not self.store.renew_job(job["_id"], OWNER, self._now() + LEASE):
                return  # another runner took it over (this one was too slow): let it go on
            drafts = announcements.drafts(job, batch["users"])

            def send(session, batch=batch, drafts=drafts):
                if self.store.finish_batch(batch["_id"], job["_id"], len(drafts), session):
                    messages.deliver(
                        self.store, self.outbox, session, drafts, self._now(), settings, {}
                    )

            self.store.transaction(send)
            self.outbox.wake()
            self._batch_sent(job, batch)
        self.store.set_announcement(
            job["_id"], {"state": "done", "finished_at": self._now(), "owner": None}
        )

    def _batch_sent(self, job: dict, batch: dict) -> None:
        """Hook after each batch commits; the crash test stops the runner here."""

    def _failed(self, job: dict, error: str) -> None:
        failures = job.get("failures", 0) + 1
        changes = {
            "errors": (job.get("errors") or [])[-9:] + [error],
            "failures": failures,
            "lease_until": self._now() + timedelta(seconds=2 * failures),
            "owner": None,
        }
        if failures >= MAX_FAILURES:
            changes["state"] = "failed"
        self.store.set_announcement(job["_id"], changes)
