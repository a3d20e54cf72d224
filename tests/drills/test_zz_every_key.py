"""After every drill: each write of every drill, retried through all the faults with its own
key, is there exactly once (a late redelivery in a later drill would show here), and the
points ledger is sound."""

from __future__ import annotations

import subprocess
import sys

from tests.drills.effects import writes_once
from tests.drills.harness import ROOT


def test_one_effect_per_key_through_every_drill_and_a_sound_ledger(drills):
    assert drills.every_write, "no drill ran before this check"
    tally = writes_once(drills.mongo, drills.every_write)
    assert not tally.lost and not tally.duplicated, tally.describe()
    audit = subprocess.run(
        [sys.executable, "-m", "services.points.audit", "--mongo-url", drills.system.mongo_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
