"""Pure CPU work on a hostile input, in a child process (issue 7 §4).

A thread is not enough: it shares the interpreter lock, and an XLSX bomb parsed in
eventlet's tpool still held a concurrent grid read for the whole parse (0.37 s of a 0.6 s
parse, seen in CI), because each of the read's many socket waits had to win the lock back.
A child has an interpreter of its own, a memory cap (RLIMIT_AS) and a deadline, so a file
can neither slow the service's other calls nor take its memory; the service's event loop
only waits on a pipe (under nameko, `subprocess` is eventlet's green one).

    records, encoding = isolated.run(columns.read_records, kind, filename, content, limits)

The function must be importable by its module path and its arguments and answer picklable.
A named error it raises (`contracts.errors`) comes back as itself; anything else, a kill
at the memory cap or the deadline, comes back as `ValidationFailed` naming the file.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.errors import LianxinError, ValidationFailed

ROOT = Path(__file__).resolve().parent.parent.parent
MEMORY = int(os.environ.get("ISOLATED_MEMORY_BYTES", str(1 << 30)))  # address space per child
TIMEOUT = float(os.environ.get("ISOLATED_TIMEOUT_SECONDS", "120"))
log = logging.getLogger(__name__)


def run(work: Callable[..., Any], *args: Any, timeout: float = TIMEOUT, memory: int = MEMORY):
    """`work(*args)`, computed in a fresh child process."""
    request = pickle.dumps((work.__module__, work.__qualname__, args))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__],
            input=request,
            capture_output=True,
            timeout=timeout,
            cwd=ROOT,
            env=env,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory)),
        )
    except Exception as exc:
        # by name: eventlet's green subprocess raises the TimeoutExpired of its own copy of
        # the module, which is not `subprocess.TimeoutExpired` (run() has killed the child)
        if type(exc).__name__ != "TimeoutExpired":
            raise
        raise ValidationFailed(
            details={"file": f"reading the file took longer than {timeout:g} s"}
        ) from None
    if done.returncode != 0 or not done.stdout:
        # killed (the memory cap) or crashed: the input did it, and the service lives on
        tail = done.stderr.decode("utf-8", "replace")[-2000:]
        log.warning("%s ended with code %s: %s", work.__qualname__, done.returncode, tail)
        raise ValidationFailed(details={"file": "the file could not be read within the limits"})
    outcome, value = pickle.loads(done.stdout)
    if outcome == "error":
        raise value
    return value


def _child() -> None:
    module, name, args = pickle.loads(sys.stdin.buffer.read())
    work = importlib.import_module(module)
    for part in name.split("."):
        work = getattr(work, part)
    try:
        answer: tuple[str, Any] = ("ok", work(*args))
    except LianxinError as refused:
        answer = ("error", refused)
    except MemoryError:
        answer = ("error", ValidationFailed(details={"file": "the file needs too much memory"}))
    sys.stdout.buffer.write(pickle.dumps(answer))


if __name__ == "__main__":
    _child()
