"""A handler killed half-way (kill -9 of the real process) and the event delivered again
still gives one award: the award, its ledger entries and the inbox mark commit together
or not at all, and nameko acks only after the worker returns."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bson import Binary
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.grid import VISIT_LOGGED
from services.kit import settings
from services.kit.mongo import connect
from services.kit.outbox import OutboxRelay, OutboxWriter, amqp_publisher
from services.points.audit import audit
from services.points.tests.conftest import OPERATOR, VILLAGE, visit, wait_for

pytestmark = pytest.mark.interface
ROOT = Path(__file__).resolve().parents[3]


def start(target: str, config: dict, marker: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AMQP_URI": config["AMQP_URI"],
        "MONGO_URL": config["MONGO_URL"],
        "DB_PREFIX": config["DB_PREFIX"],
        "POINTS_TOKEN_KEY": "crash-test",
        "POINTS_CRASH_MARKER": str(marker),
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "nameko"),
            "run",
            "--config",
            "infra/nameko.yaml",
            target,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ready(config: dict) -> bool:
    try:
        with ClusterRpcProxy(config, timeout=2) as rpc:
            return rpc.points.health()["ok"]
    except Exception:
        return False


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_kill_9_mid_award_then_redelivery_awards_once(service_config, tmp_path):
    config = {**service_config, "POINTS_TOKEN_KEY": "crash-test"}
    marker = tmp_path / "crashed"
    client = connect(config["MONGO_URL"])
    db = client[settings.db_name("points", config)]
    crashing = start("services.points.tests.crashing:CrashingPointsService", config, marker)
    survivor = None
    try:
        wait_for(lambda: ready(config), timeout=60)
        with ClusterRpcProxy(config, timeout=30) as rpc:
            rpc.points.top_up(VILLAGE, 100, "topup-crash", caller=OPERATOR)
            rpc.points.create_rule(
                VILLAGE,
                {"name": "走访", "category": "livelihood", "trigger": "visit_logged", "points": 5},
                caller=OPERATOR,
            )
        grid_db = client[settings.db_name("grid", config)]
        with client.start_session() as session:
            [event] = OutboxWriter(grid_db, "grid").record_many(session, VISIT_LOGGED, [visit(1)])
        publish = amqp_publisher(config["AMQP_URI"], "grid")
        OutboxRelay(grid_db, publish).run_once()

        assert crashing.wait(60) == -9  # killed by SIGKILL inside the handler
        event_id, session_id = marker.read_text().split("\n")
        assert event_id == event["id"]
        assert db["transfers"].count_documents({"kind": "award"}) == 0  # nothing committed
        assert db["processed_events"].count_documents({}) == 0
        # The dead process's transaction still holds its writes until the server reaps it
        # (transactionLifetimeLimitSeconds, 60 s on MongoDB and SecantusDB); the redelivered
        # event waits for that, retrying. End the orphan now rather than wait a minute.
        client.admin.command("killSessions", [{"id": Binary(bytes.fromhex(session_id), 4)}])

        survivor = start("services.points.service:PointsService", config, marker)
        wait_for(lambda: db["processed_events"].count_documents({}) == 1, timeout=60)
        publish(event)  # and once more, as a broker might
        time.sleep(1.0)
        assert db["transfers"].count_documents({"kind": "award"}) == 1
        assert db["accounts"].find_one({"_id": f"wallet:{VILLAGE}:w1"})["balance"] == 5
        assert audit(db).ok
    finally:
        stop(crashing)
        if survivor is not None:
            stop(survivor)


def test_kill_9_mid_batch_then_redelivery_awards_each_once(service_config, tmp_path):
    """Several visits queued at once are applied in batches; the process dies by SIGKILL
    after a batch wrote its awards and before it committed: nothing of it stays, every
    event comes again, and each is awarded once (also when the producer sends them all
    once more)."""
    config = {**service_config, "POINTS_TOKEN_KEY": "crash-test"}
    marker = tmp_path / "crashed"
    client = connect(config["MONGO_URL"])
    db = client[settings.db_name("points", config)]
    crashing = start("services.points.tests.crashing:CrashingPointsService", config, marker)
    survivor = None
    try:
        wait_for(lambda: ready(config), timeout=60)
        with ClusterRpcProxy(config, timeout=30) as rpc:
            rpc.points.top_up(VILLAGE, 1000, "topup-crash", caller=OPERATOR)
            rpc.points.create_rule(
                VILLAGE,
                {"name": "走访", "category": "livelihood", "trigger": "visit_logged", "points": 5},
                caller=OPERATOR,
            )
        grid_db = client[settings.db_name("grid", config)]
        visits = [visit(n, worker=f"w{n % 3}") for n in range(12)]
        with client.start_session() as session:
            events = OutboxWriter(grid_db, "grid").record_many(session, VISIT_LOGGED, visits)
        publish = amqp_publisher(config["AMQP_URI"], "grid")
        OutboxRelay(grid_db, publish).run_once()

        assert crashing.wait(60) == -9
        _, session_id = marker.read_text().split("\n")
        assert db["transfers"].count_documents({"kind": "award"}) == 0
        assert db["processed_events"].count_documents({}) == 0
        client.admin.command("killSessions", [{"id": Binary(bytes.fromhex(session_id), 4)}])

        survivor = start("services.points.service:PointsService", config, marker)
        wait_for(lambda: db["processed_events"].count_documents({}) == 12, timeout=60)
        for event in events:  # and all once more, as a broker might
            publish(event)
        time.sleep(1.5)
        awards = list(db["transfers"].find({"kind": "award"}))
        assert len(awards) == 12 == len({a["key"] for a in awards})
        for w in ("w0", "w1", "w2"):
            assert db["accounts"].find_one({"_id": f"wallet:{VILLAGE}:{w}"})["balance"] == 20
        assert db["processed_events"].count_documents({}) == 12
        assert audit(db).ok
    finally:
        stop(crashing)
        if survivor is not None:
            stop(survivor)
