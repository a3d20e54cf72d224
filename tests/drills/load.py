"""Clients that behave as the PWA outbox does, and the steady load of writes the drills run under.

A write carries its client id (the `Idempotency-Key` header). It is sent again with the same
id and body after a 5xx, a 429, a refused or broken connection or a timeout, with a short
back-off, until the server answers it; every attempt goes on a shared tape, so a drill can say
afterwards which requests failed during the fault, with which status, and when requests
succeeded again.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Attempt:
    what: str
    key: str
    started: float
    ended: float
    status: str  # "201", "503", "connection", "timeout"

    @property
    def ok(self) -> bool:
        return self.status.startswith("2")


class Tape:
    """Every attempt of every client, in the order they ended."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def since(self, moment: float) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts if a.ended >= moment]


@dataclass
class Write:
    key: str
    method: str
    path: str
    body: Any
    status: int | None = None
    answer: Any = None
    tries: int = 0

    @property
    def answered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Client:
    """One user's HTTP client; `send` retries a write with its key until it is answered."""

    def __init__(self, base_url: str, tape: Tape, token: str | None = None, timeout=15.0):
        self.base_url = base_url
        self.tape = tape
        self.token = token
        self.timeout = timeout
        self.http = requests.Session()

    def once(self, method: str, path: str, what: str, key: str = "", **kwargs):
        """One attempt: (status or None, response or None), recorded on the tape."""
        headers = dict(kwargs.pop("headers", {}))
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        started = time.monotonic()
        try:
            answer = self.http.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
            )
        except requests.Timeout:
            self.tape.add(Attempt(what, key, started, time.monotonic(), "timeout"))
            return None, None
        except requests.ConnectionError:
            self.http = requests.Session()  # a broken keep-alive connection is not reused
            self.tape.add(Attempt(what, key, started, time.monotonic(), "connection"))
            return None, None
        self.tape.add(Attempt(what, key, started, time.monotonic(), str(answer.status_code)))
        return answer.status_code, answer

    def send(self, write: Write, what: str, deadline: float = 90.0, **kwargs) -> Write:
        """Send until answered (2xx or a 4xx that is final); the same key every time."""
        give_up = time.monotonic() + deadline
        pause = 0.2
        while True:
            write.tries += 1
            payload = {"json": write.body} if write.body is not None else {}
            status, answer = self.once(
                write.method, write.path, what, write.key, **payload, **kwargs
            )
            if status is not None and status not in RETRYABLE:
                write.status = status
                write.answer = _json(answer)
                return write
            if time.monotonic() > give_up:
                return write
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def call(self, method: str, path: str, what: str, deadline: float = 90.0, **kwargs):
        """A read or a keyless step, retried the same way; the final response."""
        give_up = time.monotonic() + deadline
        pause = 0.2
        while True:
            status, answer = self.once(method, path, what, **kwargs)
            if status is not None and status not in RETRYABLE:
                return answer
            if time.monotonic() > give_up:
                raise AssertionError(f"{method} {path}: no answer within {deadline:.0f} s")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _json(answer) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


@dataclass
class VisitLoad:
    """A steady stream of home visits logged by one worker through the gateway, as the
    PWA outbox sends them: each with its own client id (also written in the note, so the
    database can be asked for it), retried with that id until answered."""

    base_url: str
    token: str
    households: list[str]
    tape: Tape
    label: str
    # about 3 visits a second: what the points service awards on a busy 2-core machine
    # (docs/benchmarks.md), so the event checks measure faults, not a growing backlog
    threads: int = 1
    pause: float = 0.25
    writes: list[Write] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def start(self) -> VisitLoad:
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(n,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def _run(self, n: int) -> None:
        client = Client(self.base_url, self.tape, self.token)
        i = 0
        while not self._stop.is_set():
            key = f"drill-{self.label}-{n}-{i}-{uuid.uuid4().hex[:8]}"
            household = self.households[(n + i * self.threads) % len(self.households)]
            body = {"household_id": household, "kind": "routine", "note": key}
            write = Write(key, "POST", "/api/v1/visits", body)
            with self._lock:
                self.writes.append(write)
            client.send(write, "visit")
            i += 1
            self._stop.wait(self.pause)

    def successes_after(self, moment: float) -> int:
        return sum(1 for a in self.tape.since(moment) if a.what == "visit" and a.ok)

    def wait_successes(self, count: int, after: float, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for a in self.tape.since(after) if a.what == "visit" and a.ok) >= count:
                return
            time.sleep(0.1)
        raise AssertionError(f"visits did not succeed again within {timeout:.0f} s")

    def stop(self) -> list[Write]:
        """Stop sending new visits; the ones under way finish (answered or given up)."""
        self._stop.set()
        for thread in self._workers:
            thread.join(120)
        return list(self.writes)
