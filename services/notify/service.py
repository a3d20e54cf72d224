"""The notification service: inbox, live push, announcements (a later issue fills these in).

Today it answers health checks and receipts for client-numbered writes (`echo`), which the
PWA's offline outbox uses to show that a queued write arrives exactly once.
"""

from __future__ import annotations

from datetime import datetime, timezone

from nameko.rpc import rpc
from pymongo import MongoClient
from pymongo.database import Database

from services.kit.commands import Commands
from services.kit.health import HealthMixin
from services.kit.mongo import MongoProvider, PingStore


class NotifyStore(PingStore):
    def __init__(self, client: MongoClient, db: Database):
        super().__init__(client, db)
        self.commands = Commands(client, db)
        self.receipts = db["receipts"]


class NotifyStorage(MongoProvider):
    def __init__(self, **kwargs):
        super().__init__("notify", **kwargs)

    def wrap(self, client, db):
        return NotifyStore(client, db)


class NotifyService(HealthMixin):
    name = "notify"

    store: NotifyStore = NotifyStorage()

    @rpc
    def echo(self, user_id: str, client_id: str, payload=None) -> dict:
        """Receipt for one client-numbered write; a replay gets the first receipt back."""
        first_time: list[bool] = []

        def receive(session) -> dict:
            receipt = {
                "client_id": client_id,
                "user_id": user_id,
                "received_at": datetime.now(timezone.utc).isoformat(),
            }
            self.store.receipts.insert_one(dict(receipt, payload=payload), session=session)
            first_time.append(True)
            return receipt

        receipt = self.store.commands.run(
            "echo", f"{user_id}:{client_id}", {"payload": payload}, receive
        )
        return dict(receipt, replay=not first_time)
