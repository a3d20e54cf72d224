"""A gateway worker killed: the other worker serves meanwhile and gunicorn replaces it."""

from __future__ import annotations

import os
import signal
import time


def test_a_killed_gateway_worker_is_replaced_while_the_other_serves(drills):
    with drills.drill("gateway worker kill -9") as drill:
        drill.warm()
        workers = drills.gateway_workers()
        assert len(workers) >= 2, workers
        drill.fault()
        os.kill(workers[0], signal.SIGKILL)
        drill.recovered(5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = drills.gateway_workers()
            if len(now) == len(workers) and workers[0] not in now:
                break
            time.sleep(0.2)
        assert workers[0] not in now and len(now) == len(workers), (workers, now)
        assert drills.proc("gateway").poll() is None  # the arbiter itself never went down
