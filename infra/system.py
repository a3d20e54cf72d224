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
    supervise: bool = True  # restart what crashes (see ProcessGroup)
    # The embedded database writes each commit to disk before answering: without it a kill -9
    # of the database lost writes it had acknowledged (fault drills). ~2.5 ms per commit.
    db_sync: bool = True
    quiet: bool = False  # tests: keep logs in files, not on the terminal
    extra_env: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RestartPolicy:
    """When the supervisor restarts a crashed process, and when it stops trying (issue 11).

    A crashed process comes back after 1 s, then 2, 4, … up to 30 s while it keeps crashing
    soon after each start; after 5 crashes within 2 minutes it stays down and says so, while
    the rest keep serving (/readyz names it, its callers get 503 with Retry-After).
    """

    first: float = 1.0
    cap: float = 30.0
    stable_after: float = 60.0  # ran this long before crashing: a fresh streak
    give_up_crashes: int = 5
    give_up_window: float = 120.0

    def backoff(self, streak: int) -> float:
        """Seconds before the restart after the `streak`-th quick crash in a row (1-based)."""
        return min(self.cap, self.first * 2 ** max(0, streak - 1))

    def gives_up(self, crash_times: list[float], now: float) -> bool:
        """Too many crashes in the window: restarting again would only hide a real fault."""
        recent = sum(1 for t in crash_times if now - t <= self.give_up_window)
        return recent >= self.give_up_crashes


def exit_reason(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Child:
    """One supervised process: its command, the running Popen and its crash history."""

    name: str
    cmd: list[str]
    env: dict
    proc: subprocess.Popen
    started_at: float
    crashes: list[float] = field(default_factory=list)
    streak: int = 0
    restarts: int = 0
    retry_at: float | None = None  # crashed: when it starts again
    given_up: bool = False
    last_line: str = ""


class ProcessGroup:
    """Child processes with prefixed output, stopped in reverse order of start.

    Once `supervise()` is called, a watcher thread restarts a process that exits on its own
    (see `RestartPolicy`); `restart` and `stop` are deliberate and never count as
    crashes.
    """

    def __init__(self, log_dir: Path, quiet: bool, policy: RestartPolicy | None = None):
        self.policy = policy or RestartPolicy()
        self.children: dict[str, Child] = {}
        self.log_dir = log_dir
        self.quiet = quiet
        self.colour = sys.stdout.isatty()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def procs(self) -> list[tuple[str, subprocess.Popen]]:
        return [(c.name, c.proc) for c in self.children.values()]

    def start(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        with self._lock:
            proc = self._spawn(name, cmd, env)
            self.children[name] = Child(name, cmd, env, proc, time.monotonic())
            return proc

    def _spawn(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()
        return proc

    def _pump(self, name: str, proc: subprocess.Popen) -> None:
        colour = COLOURS[sum(map(ord, name)) % len(COLOURS)]
        prefix = f"\033[{colour}m{name:>8} |\033[0m " if self.colour else f"{name:>8} | "
        with open(self.log_dir / f"{name}.log", "ab") as log:
            for raw in iter(proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace").rstrip()
                child = self.children.get(name)
                if child is not None and child.proc is proc and line.strip():
                    child.last_line = line[-300:]
                if not self.quiet:
                    if "EventletDeprecationWarning" in line or not line.strip():
                        continue
                    sys.stdout.write(prefix + line + "\n")
                    sys.stdout.flush()

    # --- what callers ask ---------------------------------------------------------------
    def proc(self, name: str) -> subprocess.Popen:
        return self.children[name].proc

    def restarts(self, name: str) -> int:
        return self.children[name].restarts

    def dead(self) -> list[tuple[str, int]]:
        return [
            (c.name, c.proc.returncode) for c in self.children.values() if c.proc.poll() is not None
        ]

    def down(self) -> list[str]:
        """Names of processes not running now (crashed and waiting, or given up)."""
        return [c.name for c in self.children.values() if c.proc.poll() is not None]

    def given_up(self) -> list[str]:
        return [c.name for c in self.children.values() if c.given_up]

    def wait_restarted(
        self, name: str, timeout: float, old_pid: int | None = None
    ) -> subprocess.Popen:
        """Wait until `name` runs again as a process other than `old_pid` (default: the
        process it is now, which the caller has just killed)."""
        old = old_pid if old_pid is not None else self.proc(name).pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.proc(name)
            if proc.pid != old and proc.poll() is None:
                return proc
            if self.children[name].given_up:
                raise RuntimeError(f"the supervisor gave up on {name}")
            time.sleep(0.05)
        raise TimeoutError(f"{name} was not restarted within {timeout:.0f} s")

    # --- supervision ----------------------------------------------------------------------
    def supervise(self) -> None:
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.1):
            with self._lock:
                if self._stopping.is_set():
                    return
                for child in self.children.values():
                    self._tend(child, time.monotonic())

    def _tend(self, child: Child, now: float) -> None:
        if child.given_up:
            return
        if child.retry_at is None:
            code = child.proc.poll()
            if code is None:
                return
            self._crashed(child, code, now)
        elif now >= child.retry_at:
            child.retry_at = None
            child.proc = self._spawn(child.name, child.cmd, child.env)
            child.started_at = now
            child.restarts += 1
            self.say(f"{child.name} started again (pid {child.proc.pid}, restart {child.restarts})")

    def _crashed(self, child: Child, code: int, now: float) -> None:
        uptime = now - child.started_at
        policy = self.policy
        child.streak = 1 if uptime >= policy.stable_after else child.streak + 1
        child.crashes = [t for t in child.crashes if now - t <= policy.give_up_window] + [now]
        log = self.log_dir / f"{child.name}.log"
        why = f"{child.name} stopped ({exit_reason(code)}) after {uptime:.0f} s"
        if child.last_line:
            why += f"; its last line: {child.last_line}"
        if policy.gives_up(child.crashes, now):
            child.given_up = True
            self.say(
                f"{why}. Giving up on {child.name}: it crashed {len(child.crashes)} times "
                f"in {policy.give_up_window:.0f} s. Everything else keeps running and "
                f"/readyz names it; read {log}, fix the cause and start again.",
                error=True,
            )
            return
        delay = policy.backoff(child.streak)
        child.retry_at = now + delay
        self.say(f"{why}; restarting it in {delay:g} s (see {log})", error=True)

    def say(self, message: str, error: bool = False) -> None:
        line = f"[supervisor] {message}"
        with open(self.log_dir / "supervisor.log", "a", encoding="utf-8") as log:
            log.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + line + "\n")
        if not self.quiet:
            print(line, file=sys.stderr if error else sys.stdout, flush=True)

    # --- deliberate stops -----------------------------------------------------------------
    def restart(self, name: str) -> subprocess.Popen:
        """Stop one process (SIGTERM, then SIGKILL) and start it again with the same command."""
        with self._lock:
            child = self.children[name]
            self._terminate([child.proc], 10.0)
            child.proc = self._spawn(name, child.cmd, child.env)
            child.started_at = time.monotonic()
            child.retry_at = None
            child.given_up = False
            return child.proc

    def stop(self, timeout: float = 10.0) -> None:
        """Stop everything: first all that was started after the first process, together,
        then the first (the database, when it is ours: the others need it until they end)."""
        self._stopping.set()
        with self._lock:
            procs = [c.proc for c in self.children.values()]
            self._terminate(procs[:0:-1], timeout)
            self._terminate(procs[:1], timeout)

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
                name,
                [str(BIN / "nameko"), "run", "--config", "infra/nameko.yaml", target],
                env,
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
        if self.plan.supervise:
            self.group.supervise()

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
                *(["--sync-on-commit"] if self.plan.db_sync else []),
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
