"""`make test`: lint, then every test tier, then one closing line with the totals.

Service tests run under eventlet (nameko needs its monkey patching); the gateway,
end-to-end and browser tests run in a separate pytest without it (Playwright and gunicorn
do not mix with a patched interpreter), and so do the fault drills, last.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPORTS = ROOT / "var" / "test-reports"

TIERS = [
    ("unit + interface (services, contracts)", ["services", "contracts"], []),
    # tests/fuzz (schemathesis over the OpenAPI document) runs last, against the same system
    (
        "gateway, end-to-end, browser and fuzz",
        ["gateway", "tests"],
        ["-p", "no:nameko", "--ignore=tests/drills"],
    ),
    # kill -9 of each process, the broker closed and stopped, on a system and a RabbitMQ
    # node of their own (issue 11); figures in var/drills/figures.json (bench/faults.py)
    ("fault drills", ["tests/drills"], ["-p", "no:nameko"]),
]


def lint() -> bool:
    steps = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
    ]
    ok = True
    for step in steps:
        print(
            "$",
            " ".join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step)),
            flush=True,
        )
        ok = subprocess.run(step, cwd=ROOT).returncode == 0 and ok
    return ok


def totals(report: Path) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if not report.exists():
        return counts
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    return counts


def main() -> int:
    started = time.monotonic()
    REPORTS.mkdir(parents=True, exist_ok=True)
    lint_ok = lint()
    passed = failed = skipped = 0
    codes = []
    for i, (title, paths, extra) in enumerate(TIERS):
        report = REPORTS / f"tier{i}.xml"
        report.unlink(missing_ok=True)
        print(f"\n== {title} ==", flush=True)
        cmd = [str(BIN / "pytest"), *paths, *extra, f"--junitxml={report}", "-q"]
        code = subprocess.run(cmd, cwd=ROOT).returncode
        codes.append(code)
        counts = totals(report)
        bad = counts["failures"] + counts["errors"]
        passed += counts["tests"] - bad - counts["skipped"]
        crashed = code != 0 and bad == 0  # pytest itself failed (no tests, bad options)
        failed += bad + int(crashed)
        skipped += counts["skipped"]
    failed += 0 if lint_ok else 1
    took = time.monotonic() - started
    print(f"\nlint {'ok' if lint_ok else 'FAILED'}; tiers exit codes {codes}; {took:.0f} s")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0 if failed == 0 and lint_ok else 1


if __name__ == "__main__":
    sys.exit(main())
