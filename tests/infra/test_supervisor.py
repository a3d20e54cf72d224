"""The supervisor (infra/system.py) with real child processes: a killed process comes back
after its back-off, one that keeps crashing is given up on while the others keep running,
and a deliberate restart or stop is never counted as a crash."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from infra.system import ProcessGroup, RestartPolicy

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(600)"]
CRASHER = [sys.executable, "-c", "print('cannot open config', flush=True); raise SystemExit(3)"]


def test_back_off_doubles_to_its_cap():
    policy = RestartPolicy()
    assert [policy.backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_gives_up_after_five_crashes_in_two_minutes_only():
    policy = RestartPolicy()
    assert not policy.gives_up([0, 10, 20, 30], 30)
    assert policy.gives_up([0, 10, 20, 30, 40], 40)
    # the same five crashes spread over more than the window: keep restarting
    assert not policy.gives_up([0, 40, 80, 120, 160], 160)


@pytest.fixture
def group(tmp_path):
    fast = RestartPolicy(first=0.2, cap=0.4, give_up_crashes=3, give_up_window=30)
    made = ProcessGroup(tmp_path, quiet=True, policy=fast)
    yield made
    made.stop(timeout=5)


def test_a_killed_process_is_restarted_after_its_back_off(group, tmp_path):
    group.start("svc", SLEEPER, dict(os.environ))
    group.supervise()
    first = group.proc("svc")
    killed_at = time.monotonic()
    os.kill(first.pid, signal.SIGKILL)
    again = group.wait_restarted("svc", timeout=10, old_pid=first.pid)
    assert time.monotonic() - killed_at >= 0.2  # waited its back-off
    assert again.poll() is None and group.restarts("svc") == 1
    said = (tmp_path / "supervisor.log").read_text()
    assert "svc stopped (killed by SIGKILL)" in said and "restarting it in 0.2 s" in said


def test_one_that_keeps_crashing_is_given_up_on_and_the_rest_run(group, tmp_path):
    group.start("steady", SLEEPER, dict(os.environ))
    group.start("broken", CRASHER, dict(os.environ))
    group.supervise()
    deadline = time.monotonic() + 15
    while "broken" not in group.given_up() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group.given_up() == ["broken"]
    assert group.restarts("broken") == 2  # three crashes: the start and two restarts
    assert group.down() == ["broken"] and group.proc("steady").poll() is None
    said = (tmp_path / "supervisor.log").read_text()
    assert "Giving up on broken: it crashed 3 times" in said
    assert "exit code 3" in said and "cannot open config" in said  # why, in its own words


def test_deliberate_restart_and_stop_are_not_crashes(group):
    group.start("svc", SLEEPER, dict(os.environ))
    group.supervise()
    first = group.proc("svc")
    group.restart("svc")
    assert group.proc("svc").pid != first.pid and group.restarts("svc") == 0
    procs = [group.proc("svc")]
    group.stop(timeout=5)
    time.sleep(0.5)  # a watcher that took the stop for a crash would start it again by now
    assert all(p.poll() is not None for p in procs) and group.proc("svc") is procs[0]
