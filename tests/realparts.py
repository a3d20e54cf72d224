"""The real broker and database for tests: a throwaway RabbitMQ virtual host and a
SecantusDB server (or the MongoDB that MONGO_URL names)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

from services.kit import settings


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def broker_vhost(label: str):
    """Yield an AMQP URI on a fresh virtual host, deleted afterwards.

    With AMQP_URI set (an external broker) the tests use it as it is.
    """
    if os.environ.get("AMQP_URI"):
        yield os.environ["AMQP_URI"]
        return
    vhost = f"{label}-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        base = settings.DEFAULT_AMQP_URI.rstrip("/")
        yield f"{base}/{urllib.parse.quote(vhost, safe='')}"
    finally:
        with contextlib.suppress(Exception):
            _rabbitmqctl("delete_vhost", vhost)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port} within {timeout} s")


def secantus_command(port: int, storage: str) -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "secantusd-py")
    return [
        exe,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        storage,
        "--log-level",
        "WARNING",
    ]


def mongo_url_for(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"


@contextlib.contextmanager
def embedded_mongo():
    """Yield a MongoDB URL: MONGO_URL if set, else a SecantusDB server on a temp folder."""
    if os.environ.get("MONGO_URL"):
        yield os.environ["MONGO_URL"]
        return
    folder = tempfile.mkdtemp(prefix="lianxin-db-")
    port = free_port()
    proc = subprocess.Popen(
        secantus_command(port, folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, 60, proc)
        yield mongo_url_for(port)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def whole_system(label: str, extra_env: dict | None = None, **plan_options):
    """The whole system as `make run` starts it, with demo data, on its own ports, broker
    virtual host and data folder; removed afterwards. Yields the running System.

    `plan_options` set other `Plan` fields. The database skips syncing each commit unless
    asked (`db_sync=True`): only the fault drills kill it, and the other suites run faster."""
    from infra import demo
    from infra.system import Plan, System

    data_dir = tempfile.mkdtemp(prefix=f"lianxin-{label}-")
    with broker_vhost(f"lianxin-{label}") as amqp_uri:
        plan = Plan(
            gateway_port=free_port(),
            stream_port=free_port(),
            db_port=free_port(),
            data_dir=Path(data_dir),
            amqp_uri=amqp_uri,
            quiet=True,
            # services check every event they record against its contract schema
            extra_env={"LIANXIN_CHECK_EVENTS": "1", **(extra_env or {})},
            **({"db_sync": False} | plan_options),
        )
        running = System(plan)
        try:
            running.start()
            demo.load({"AMQP_URI": amqp_uri, "serializer": "json"})
            yield running
        finally:
            running.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
