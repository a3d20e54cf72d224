"""Fault figures (issue 11): run the fault drill tier and print its table.

    .venv/bin/python -m bench.faults

Each drill kills or cuts one thing under a steady load of visits with client ids (see
tests/drills): the table gives the time until requests succeed again, the requests that failed
meanwhile and with which status, and what was lost or applied twice (both must be 0), with the
machine's load and the date, ready for docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.drills.harness import FIGURES, Figure, table

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    FIGURES.unlink(missing_ok=True)
    started = time.monotonic()
    code = subprocess.run(
        [str(Path(sys.executable).parent / "pytest"), "tests/drills", "-p", "no:nameko", "-q"],
        cwd=ROOT,
    ).returncode
    took = time.monotonic() - started
    if not FIGURES.exists():
        print("no figures: the drills did not run", file=sys.stderr)
        return 1
    figures = [Figure(**row) for row in json.loads(FIGURES.read_text())]
    print(f"\n## Faults: {len(figures)} drills in {took:.0f} s, pytest exit {code}")
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, {os.cpu_count()} cores; `uptime`: {uptime}\n")
    print(table(figures))
    notes = [f"- {f.drill}: {f.note}" for f in figures if f.note]
    if notes:
        print("\n" + "\n".join(notes))
    return code


if __name__ == "__main__":
    sys.exit(main())
