"""An outbox relay that marks what it published in bulk.

`OutboxRelay` (services/kit/outbox.py) marks each event sent with an `update_one` right
after publishing it: one database round trip per event, which a burst of thousands of
events (a batch of awards, each with its `points_awarded`) pays on a server that runs one
operation at a time. `BulkMarkRelay` publishes the same way, in the same order, and marks
every `mark_every` events with one `update_many`. What a crash between publishing and
marking costs is unchanged in kind: those events are published again on the next pass
(at most `mark_every` of them instead of one), and consumers apply each event id once.

    class PointsService:
        outbox = BulkMarkOutbox("points")   # instead of Outbox("points")
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from services.kit.outbox import Outbox, OutboxRelay, _utcnow


class BulkMarkRelay(OutboxRelay):
    def __init__(self, *args: Any, mark_every: int = 100, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mark_every = max(1, mark_every)

    def run_once(self) -> int:
        pending = self.collection.find({"sent_at": None}).sort(
            [("created_at", ASCENDING), ("n", ASCENDING)]
        )
        published: list[Any] = []
        sent = 0
        try:
            for entry in pending.limit(self.batch):
                self.publish(entry["event"])
                self.after_publish(entry)
                published.append(entry["_id"])
                sent += 1
                if len(published) >= self.mark_every:
                    self._mark(published)
                    published = []
        finally:
            if published:  # a publish failed half-way: what went out is marked
                self._mark(published)
        return sent

    def _mark(self, ids: list[Any]) -> None:
        self.collection.update_many({"_id": {"$in": ids}}, {"$set": {"sent_at": _utcnow()}})


class BulkMarkOutbox(Outbox):
    """`Outbox` whose relay marks in bulk (the writer side is the same)."""

    def setup(self):
        super().setup()
        relay = self.relay
        self.relay = BulkMarkRelay(relay.collection.database, relay.publish, batch=relay.batch)
