"""Work on hostile input in a child process: answers, named errors and a runaway child."""

from __future__ import annotations

import os

import pytest

from contracts.errors import NotFound, ValidationFailed
from services.kit import isolated


def pid_and_sum(*numbers: int) -> tuple[int, int]:
    return os.getpid(), sum(numbers)


def refuse(what: str) -> None:
    raise NotFound(details={"what": what})


def hog(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_the_work_runs_in_another_process_and_its_answer_comes_back():
    pid, total = isolated.run(pid_and_sum, 1, 2, 3)
    assert total == 6 and pid != os.getpid()


def test_a_named_error_comes_back_as_itself():
    with pytest.raises(NotFound) as refused:
        isolated.run(refuse, "家")
    assert refused.value.details == {"what": "家"}


def test_a_child_past_its_memory_cap_is_a_refused_file_not_a_dead_service():
    with pytest.raises(ValidationFailed) as refused:
        isolated.run(hog, 600, memory=256 * 1024 * 1024)
    assert "memory" in refused.value.details["file"]
    assert isolated.run(hog, 1) == 1024 * 1024  # and the next call is served as before


def test_a_child_past_its_deadline_is_stopped():
    with pytest.raises(ValidationFailed) as refused:
        isolated.run(os.system, "sleep 5", timeout=0.5)
    assert "longer than" in refused.value.details["file"]
