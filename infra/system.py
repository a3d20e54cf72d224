"""Start the whole system as `make run` does: database, services, gateway; stop it cleanly.

Used by `make run` (infra/run.py) and by the end-to-end tests (tests/e2e), which give it
their own ports, broker virtual host and data folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gateway.livestream import serve_command

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICES = {
    "identity": "services.identity.service:IdentityService",
    "grid": "services.grid.service:GridService",
    "cases": "services.cases.service:CasesService",
    "points": "services.points.service:PointsService",
    "notify": "services.notify.service:NotifyService",
}
COLOURS = ["36", "32", "33", "35", "34", "31", "96", "92"]


@dataclass
class Plan:
    gateway_port: int = 8000
    stream_port: int = 8001  # the live stream (SSE), gateway/livestream
    db_port: int = 27217
    data_dir: Path = ROOT / "var"
    amqp_uri: str = "pyamqp://guest:guest@127.0.0.1:5672/"
    mongo_url: str | None = None  # None: start the embedded SecantusDB
    gunicorn_workers: int = 2
    quiet: bool = False  # tests: keep logs in files, not on the terminal
    extra_env: dict = field(default_factory=dict)


class ProcessGroup:
    """Child processes with prefixed output, stopped in reverse order of start."""

    def __init__(self, log_dir: Path, quiet: bool):
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.commands: dict[str, tuple[list[str], dict]] = {}
        self.log_dir = log_dir
        self.quiet = quiet
        self.colour = sys.stdout.isatty()
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs.append((name, proc))
        self.commands[name] = (cmd, env)
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()
        return proc

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        colour = COLOURS[len(self.procs) % len(COLOURS)]
        prefix = f"\033[{colour}m{name:>8} |\033[0m " if self.colour else f"{name:>8} | "
        with open(self.log_dir / f"{name}.log", "ab") as log:
            for raw in iter(proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                if not self.quiet:
                    line = raw.decode("utf-8", "replace").rstrip()
                    if "EventletDeprecationWarning" in line or not line.strip():
                        continue
                    sys.stdout.write(prefix + line + "\n")
                    sys.stdout.flush()

    def dead(self) -> list[tuple[str, int]]:
        return [(n, p.returncode) for n, p in self.procs if p.poll() is not None]

    def restart(self, name: str) -> subprocess.Popen:
        """Stop one process (SIGTERM, then SIGKILL) and start it again with the same command."""
        for i, (other, proc) in enumerate(self.procs):
            if other == name:
                self._terminate([proc], 10.0)
                del self.procs[i]
                break
        cmd, env = self.commands[name]
        return self.start(name, cmd, env)

    def stop(self, timeout: float = 10.0) -> None:
        self._terminate([proc for _, proc in reversed(self.procs)], timeout)

    @staticmethod
    def _terminate(procs: list[subprocess.Popen], timeout: float) -> None:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


class System:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.group = ProcessGroup(plan.data_dir / "logs", plan.quiet)
        self.mongo_url = (
            plan.mongo_url or f"mongodb://127.0.0.1:{plan.db_port}/?directConnection=true"
        )
        self.base_url = f"http://127.0.0.1:{plan.gateway_port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "AMQP_URI": self.plan.amqp_uri,
                "MONGO_URL": self.mongo_url,
                "LIANXIN_DATA": str(self.plan.data_dir),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "PYTHONWARNINGS": "ignore::DeprecationWarning",
                "STREAM_PORT": str(self.plan.stream_port),
            }
        )
        env.update(self.plan.extra_env)
        return env

    def start(self) -> None:
        env = self.env()
        if self.plan.gateway_port and port_open(self.plan.gateway_port):
            raise RuntimeError(
                f"port {self.plan.gateway_port} is taken: is Lianxin already running? "
                "Stop it, or set GATEWAY_PORT."
            )
        if self.plan.mongo_url is None:
            self._start_database(env)
        wanted = os.environ.get("LIANXIN_SERVICES", ",".join(SERVICES)).split(",")
        for name, target in SERVICES.items():
            if name not in wanted:
                continue
            self.group.start(
                name, [str(BIN / "nameko"), "run", "--config", "infra/nameko.yaml", target], env
            )
        self.group.start(
            "gateway",
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.plan.gateway_port}",
                "--workers",
                str(self.plan.gunicorn_workers),
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                "gateway.wsgi:app",
            ],
            env,
        )
        self.group.start("stream", serve_command(BIN, self.plan.stream_port), env)
        self.wait_ready()

    def _start_database(self, env: dict) -> None:
        storage = self.plan.data_dir / "db"
        storage.mkdir(parents=True, exist_ok=True)
        if port_open(self.plan.db_port):
            raise RuntimeError(f"port {self.plan.db_port} is taken; set DB_PORT to another port")
        self.group.start(
            "db",
            [
                str(BIN / "secantusd-py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.plan.db_port),
                "--storage-path",
                str(storage),
                "--log-level",
                "WARNING",
            ],
            env,
        )
        self._wait(lambda: port_open(self.plan.db_port), 60, "the database")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/readyz", timeout=5) as answer:
                return answer.status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 120) -> None:
        self._wait(self.ready, timeout, "every service")

    def _wait(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = self.group.dead()
            if dead:
                name, code = dead[0]
                raise RuntimeError(
                    f"{name} exited with code {code} while waiting for {what}; "
                    f"see {self.plan.data_dir / 'logs' / (name + '.log')}"
                )
            if check():
                return
            time.sleep(0.3)
        raise TimeoutError(f"{what} did not become ready within {timeout:.0f} s")

    def stop(self) -> None:
        self.group.stop()
