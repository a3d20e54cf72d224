"""The embedded database killed (kill -9) and started again by the supervisor: the services
reconnect by themselves (none of them is restarted), and every write answered before or
after is there once."""

from __future__ import annotations

from infra.system import SERVICES


def test_the_database_killed_and_restarted(drills):
    services = {name: (drills.proc(name).pid, drills.restarts(name)) for name in SERVICES}
    with drills.drill("database kill -9") as drill:
        drill.warm()
        drill.fault()
        killed = drills.kill("db")
        took = drills.wait_restarted("db", killed)
        drill.recovered(5, timeout=120)
        drill.note = f"database back in {took:.1f} s"
    after = {name: (drills.proc(name).pid, drills.restarts(name)) for name in SERVICES}
    assert after == services  # they reconnected; nobody restarted them
