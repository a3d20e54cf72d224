"""The bulk-marking relay against the real database: every event published once, in the
order written, and marked in bulk; a publish that fails half-way leaves what went out
marked and the rest for the next pass."""

from __future__ import annotations

import pytest

from services.kit import settings
from services.kit.mongo import connect
from services.kit.outbox import OutboxWriter
from services.kit.relay import BulkMarkRelay

pytestmark = pytest.mark.interface


def test_publishes_in_order_and_marks_in_bulk(service_config):
    client = connect(service_config["MONGO_URL"])
    db = client[settings.db_name("relaytest", service_config)]
    with client.start_session() as session:
        events = OutboxWriter(db, "relaytest").record_many(
            session, "relay_probe", [{"n": n} for n in range(250)]
        )
    published: list[str] = []
    broken = {"at": 140}

    def publish(event: dict) -> None:
        if len(published) == broken["at"]:
            raise ConnectionError("broker went away")
        published.append(event["id"])

    relay = BulkMarkRelay(db, publish, batch=1000, mark_every=50)
    relay.prepare()
    with pytest.raises(ConnectionError):
        relay.run_once()
    assert db["outbox"].count_documents({"sent_at": None}) == 110  # 140 went out, marked
    broken["at"] = -1
    assert relay.run_once() == 110
    assert published == [e["id"] for e in events]  # each once, in the order written
    assert db["outbox"].count_documents({"sent_at": None}) == 0
    assert relay.run_once() == 0
