"""The drill harness: one whole system on a broker node the drills own, the steady visit load,
faults (kill -9 of a named process, of a gateway worker), waiting for the supervisor to bring
a process back, and the figures every drill leaves: the time until requests succeed again,
the requests that failed meanwhile (by status), and what was lost or applied twice."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pymongo import MongoClient

from infra.system import SERVICES, System
from tests.drills.broker import OwnedBroker
from tests.drills.effects import PREFIX, Tally, unanswered, visit_events_once, writes_once
from tests.drills.load import Attempt, Client, Tape, VisitLoad, Write

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "var" / "drills" / "figures.json"
HAIXING = "330424001001"
MICRO = f"{HAIXING}-001-01-01"  # 1幢1单元 in worker01's grid


@dataclass
class Figure:
    drill: str
    recovery_s: float
    failed: dict[str, int]
    writes: int
    lost: int
    duplicated: int
    note: str = ""

    def row(self) -> str:
        failed = ", ".join(f"{s}×{n}" for s, n in sorted(self.failed.items())) or "none"
        return (
            f"| {self.drill} | {self.recovery_s:.1f} | {failed} | {self.writes} | "
            f"{self.lost} | {self.duplicated} |"
        )


HEADER = (
    "| drill | until requests succeed again (s) | failed meanwhile (status×n) | "
    "writes | lost | applied twice |\n|---|---:|---|---:|---:|---:|"
)


def table(figures: list[Figure]) -> str:
    return "\n".join([HEADER, *(f.row() for f in figures)])


def measure(attempts: list[Attempt], fault_at: float) -> tuple[float, dict[str, int]]:
    """(seconds from the fault until requests succeed again, failed attempts by status).

    Requests succeed again at the first success, of a request sent after the fault, that
    ends after the last failure. With no failure that is the first request sent after the
    fault to succeed: a request held while a service restarts counts its wait.
    """
    window = [a for a in attempts if a.ended >= fault_at]
    failed = [a for a in window if not a.ok]
    last_failure = max((a.ended for a in failed), default=fault_at)
    back = [a.ended for a in window if a.ok and a.started >= fault_at and a.ended >= last_failure]
    recovery = (min(back) if back else time.monotonic()) - fault_at
    return max(0.0, recovery), dict(Counter(a.status for a in failed))


class Drill:
    """One fault under the steady load; see Drills.drill."""

    def __init__(self, drills: Drills, name: str):
        self.drills = drills
        self.name = name
        self.tape = drills.tape
        self.started = time.monotonic()
        self.fault_at: float | None = None
        self.load = VisitLoad(
            drills.base_url, drills.worker_token, drills.households, self.tape, _slug(name)
        ).start()
        self.extra = Tally()
        self.extra_writes = 0
        self.note = ""

    def warm(self, count: int = 3) -> None:
        """Let the load get going before the fault."""
        self.load.wait_successes(count, self.started, timeout=60)

    def fault(self) -> float:
        self.fault_at = time.monotonic()
        return self.fault_at

    def recovered(self, count: int = 3, timeout: float = 90) -> None:
        """Wait until visits succeed again after the fault."""
        assert self.fault_at is not None
        self.load.wait_successes(count, self.fault_at, timeout)


class Drills:
    """The shared whole system and what the drills need of it."""

    def __init__(self, system: System, broker: OwnedBroker):
        self.system = system
        self.broker = broker
        self.base_url = system.base_url
        self.mongo = MongoClient(system.mongo_url, serverSelectionTimeoutMS=30_000, tz_aware=True)
        self.tape = Tape()
        self.figures: list[Figure] = []
        self.every_write: list[Write] = []
        self.worker_token = self.login("worker01")["access_token"]
        found = self.client(self.worker_token).call(
            "GET", "/api/v1/households", "setup", params={"grid_code": MICRO, "limit": 20}
        )
        assert found.status_code == 200, found.text
        self.households = [h["id"] for h in found.json()["items"]]
        assert self.households, "the demo has no households in worker01's unit"

    def prepare(self) -> None:
        """An uncapped rule for routine visits in 海兴社区, so every visit of the load earns
        (the demo's rules cap a worker's day, and capped visits are only refusals)."""
        operator = self.login("community01")["access_token"]
        rule = {
            "code": HAIXING,
            "name": "演练走访",
            "category": "livelihood",
            "trigger": "visit_logged",
            "points": 1,
            "visit_kind": "routine",
        }
        made = self.client(operator).call("POST", "/api/v1/points/rules", "setup", json=rule)
        assert made.status_code == 201, made.text

    # --- the outboxes ------------------------------------------------------------------
    def _outboxes(self):
        for name in SERVICES:
            yield name, self.mongo[f"{PREFIX}{name}"]["outbox"]

    def outbox_events_between(self, start: float, end: float) -> int:
        """How many events the services recorded between two wall-clock times."""
        window = {"$gte": _utc(start), "$lte": _utc(end)}
        return sum(box.count_documents({"created_at": window}) for _, box in self._outboxes())

    def published_after(self, start: float, end: float, timeout: float = 60) -> Tally:
        """Events recorded between two times are all published in the end (the relay marks
        them sent): any still unsent after `timeout` counts as lost."""
        window = {"$gte": _utc(start), "$lte": _utc(end)}
        deadline = time.monotonic() + timeout
        while True:
            waiting = [
                f"{name}:{doc['_id']}"
                for name, box in self._outboxes()
                for doc in box.find({"created_at": window, "sent_at": None}, {"_id": 1})
            ]
            if not waiting or time.monotonic() > deadline:
                return Tally(lost=waiting)
            time.sleep(0.5)

    def client(self, token: str | None = None) -> Client:
        return Client(self.base_url, self.tape, token)

    def login(self, username: str, password: str = "Demo@12345") -> dict:
        answer = self.client().call(
            "POST",
            "/api/v1/auth/login",
            "setup",
            json={"username": username, "password": password},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    # --- processes ---------------------------------------------------------------------
    def proc(self, name: str):
        return self.system.group.proc(name)

    def restarts(self, name: str) -> int:
        return self.system.group.restarts(name)

    def kill(self, name: str) -> int:
        """kill -9 the process of `name` (a service, "db", "gateway", "stream"); its pid."""
        pid = self.proc(name).pid
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 90) -> float:
        """Wait until the supervisor has started `name` again after `kill`; seconds taken."""
        started = time.monotonic()
        self.system.group.wait_restarted(name, timeout, old_pid=old_pid)
        return time.monotonic() - started

    def wait_ready(self, timeout: float = 90) -> None:
        self.system.wait_ready(timeout)

    def gateway_workers(self) -> list[int]:
        """The pids of the gunicorn workers under the "gateway" process."""
        return children(self.proc("gateway").pid)

    # --- a drill -----------------------------------------------------------------------
    @contextlib.contextmanager
    def drill(self, name: str):
        """Run a fault under the visit load; afterwards every answered visit must be there
        once and every event it caused applied once; the figures are kept either way."""
        drill = Drill(self, name)
        try:
            yield drill
        finally:
            writes = drill.load.stop()
        self.every_write.extend(writes)
        missing = unanswered(writes)
        tally = writes_once(self.mongo, writes)
        visit_ids = [w.answer["id"] for w in writes if w.answered]
        tally = tally.add(visit_events_once(self.mongo, visit_ids)).add(drill.extra)
        fault_at = drill.fault_at or drill.started
        recovery, failed = measure(self.tape.since(drill.started), fault_at)
        figure = Figure(
            name,
            round(recovery, 2),
            failed,
            len(writes) + drill.extra_writes,
            len(tally.lost),
            len(tally.duplicated),
            drill.note,
        )
        self.figures.append(figure)
        self.save()
        assert not missing, f"{len(missing)} writes never answered: {missing[:3]}"
        assert not tally.lost and not tally.duplicated, tally.describe()

    def save(self) -> None:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(
            json.dumps([f.__dict__ for f in self.figures], ensure_ascii=False, indent=1)
        )


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # the command may hold spaces and brackets: the fields after the last ')'
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, timezone.utc)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())[:24]
