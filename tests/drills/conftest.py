"""The fault drill tier (issue 11): one whole system, started as `make run` starts it with the
demo data, on its own ports, data folder and a RabbitMQ node the drills own (so they can stop
and start the broker), shared by every drill. Each drill runs under a steady load of visits
with client ids and checks that nothing was lost or applied twice; the figures go to the
terminal summary and to var/drills/figures.json (bench/faults.py prints them)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from infra import demo
from infra.system import Plan, System
from tests.drills.broker import OwnedBroker
from tests.drills.harness import FIGURES, Drills, table
from tests.realparts import free_port

# The drills sign in many times a minute from 127.0.0.1: roomy limits (the shipped ones are
# tested in tests/e2e/test_security.py).
ROOMY_LIMITS = {
    f"RATE_LIMIT_{name}": "1000 per minute"
    for name in ("LOGIN_IP", "LOGIN_FAILURES_IP", "LOGIN_ACCOUNT", "REFRESH_IP", "API_KEY")
}
_running: list[Drills] = []
LOGS = FIGURES.parent


@pytest.fixture(scope="session")
def broker():
    owned = OwnedBroker()
    try:
        owned.start()
        owned.prepare_vhost()
        yield owned
    finally:
        owned.remove()


@pytest.fixture(scope="session")
def drills(broker):
    data_dir = Path(tempfile.mkdtemp(prefix="lianxin-drills-"))
    plan = Plan(
        gateway_port=free_port(),
        stream_port=free_port(),
        db_port=free_port(),
        data_dir=data_dir,
        amqp_uri=broker.amqp_uri,
        quiet=True,
        extra_env={
            "LIANXIN_CHECK_EVENTS": "1",
            "RPC_TIMEOUT": "5",  # a dead service shows as a 503 in seconds, not ten
            **ROOMY_LIMITS,
        },
    )
    system = System(plan)
    try:
        system.start()
        demo.load({"AMQP_URI": broker.amqp_uri, "serializer": "json"})
        running = Drills(system, broker)
        running.prepare()
        _running.append(running)
        yield running
    finally:
        system.stop()
        # the processes' logs stay for a look after a failed drill
        kept = LOGS / "logs"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(data_dir / "logs", kept, dirs_exist_ok=True)
        shutil.rmtree(data_dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if not _running or not _running[0].figures:
        return
    terminalreporter.section("fault drills: figures")
    terminalreporter.write_line(table(_running[0].figures))
