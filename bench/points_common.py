"""What the points benchmarks share: a throwaway broker virtual host and database, and
the points service started as `make run` starts it (its own `nameko run` process)."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from tests.realparts import broker_vhost, embedded_mongo

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


@contextlib.contextmanager
def points_service(label: str, workers: int = 10, extra_env: dict | None = None):
    """Yield (config, mongo_url) with one points service process running."""
    with broker_vhost(f"bench-{label}") as amqp, embedded_mongo() as mongo:
        config = {"AMQP_URI": amqp, "MONGO_URL": mongo, "DB_PREFIX": "bench_", "serializer": "json"}
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AMQP_URI": amqp,
            "MONGO_URL": mongo,
            "DB_PREFIX": "bench_",
            "POINTS_TOKEN_KEY": "bench-key",
            "NAMEKO_MAX_WORKERS": str(workers),
            "PYTHONWARNINGS": "ignore",
            **(extra_env or {}),
        }
        cmd = [
            str(Path(sys.executable).parent / "nameko"),
            "run",
            "--config",
            "infra/nameko.yaml",
            "services.points.service:PointsService",
        ]
        service = Service(cmd, env)
        try:
            service.start()
            wait_ready(config)
            yield config, mongo, service
        finally:
            service.stop()


class Service:
    """The points service process this benchmark started (stopped by its own pid)."""

    def __init__(self, cmd: list[str], env: dict):
        self.cmd, self.env, self.proc = cmd, env, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_ready(config: dict, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with ClusterRpcProxy(config, timeout=3) as rpc:
                if rpc.points.health()["ok"]:
                    return
        except Exception:
            time.sleep(0.5)
    raise TimeoutError("the points service did not start")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0
