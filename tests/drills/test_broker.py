"""The broker: every connection of the drills' virtual host closed, and the drills' own
RabbitMQ node stopped and started. Services and gateway reconnect by themselves; events
recorded while the broker was away wait in the outbox and arrive after it."""

from __future__ import annotations

import threading
import time

from tests.drills.harness import MICRO
from tests.drills.imports import household_import, households_once


def test_all_broker_connections_closed(drills):
    with drills.drill("broker: all connections closed") as drill:
        drill.warm()
        drill.fault()
        drills.broker.close_all_connections()
        drill.recovered(5)


def test_the_broker_node_stopped_and_started(drills):
    admin = drills.login("community01")["access_token"]
    upload = household_import("broker", 150, MICRO)
    with drills.drill("broker node stop/start") as drill:
        drill.warm()
        # an import keeps the grid service busy while the broker goes: its events are
        # recorded in the outbox during the outage
        result = {}
        sender = threading.Thread(
            target=lambda: result.update(answer=upload.send(drills.client(admin)))
        )
        sender.start()
        time.sleep(0.5)
        drill.fault()
        stopped = time.time()
        drills.broker.stop()
        drills.broker.start()
        back = time.time()
        down = back - stopped
        drill.recovered(5, timeout=120)
        sender.join(150)
        assert result.get("answer") is not None and result["answer"].answered, result
        drill.extra_writes = 1
        drill.extra = drill.extra.add(households_once(drills.mongo, upload))
        held = drills.outbox_events_between(stopped, back)
        drill.note = f"broker down {down:.1f} s; {held} events recorded meanwhile"
        drill.extra = drill.extra.add(drills.published_after(stopped, back))
