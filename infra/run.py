"""`make run`: the whole system on this machine, with demo data, until Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infra import demo
from infra.system import ROOT, Plan, System

BANNER = """
  网格连心 Lianxin is running.

  Open            {url}/          (phone-sized screen works best; installable PWA)
  API docs        {url}/api/v1/docs   OpenAPI: {url}/api/v1/openapi.json
  Health          {url}/readyz
  Database        {db}
  Broker          {amqp}
  Logs            {logs}/

  Demo accounts (password {password} for all):
{accounts}

  A process that crashes is restarted (its log says why); Ctrl-C stops everything.
  The demo county was loaded into the empty database once; `make reset-demo` starts over.
"""


def broker_uri() -> str:
    """AMQP_URI as given, else our own virtual host on the local broker (or the default one)."""
    if os.environ.get("AMQP_URI"):
        return os.environ["AMQP_URI"]
    base = "pyamqp://guest:guest@127.0.0.1:5672"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["rabbitmqctl", "-q", "add_vhost", "lianxin"], capture_output=True, timeout=60
        )
        done = subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", "lianxin", "guest", ".*", ".*", ".*"],
            capture_output=True,
            timeout=60,
        )
        if done.returncode == 0:
            return base + "/lianxin"
    return base + "/"


def main() -> int:
    plan = Plan(
        gateway_port=int(os.environ.get("GATEWAY_PORT", "8000")),
        stream_port=int(os.environ.get("STREAM_PORT", "8001")),
        db_port=int(os.environ.get("DB_PORT", "27217")),
        data_dir=Path(os.environ.get("LIANXIN_DATA", ROOT / "var")),
        amqp_uri=broker_uri(),
        mongo_url=os.environ.get("MONGO_URL") or None,
    )
    system = System(plan)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        print("[lianxin] starting database, services and gateway…", flush=True)
        system.start()
        print("[lianxin] demo data…", flush=True)
        summary = demo.load_once(
            {"AMQP_URI": plan.amqp_uri, "serializer": "json"}, system.mongo_url
        )
        print(f"[lianxin] demo data: {summary}", flush=True)
        people = demo.accounts(demo.grid_dataset())
        lines = "\n".join(
            f"    {p['username']:<14} {p.get('display_name', ''):<12} {', '.join(p['roles'])}"
            for p in people
            if p["username"] in demo.FEATURED
        )
        lines += (
            f"\n    … and {len(people) - len(demo.FEATURED)} more grid staff from the grid roll"
        )
        print(
            BANNER.format(
                url=system.base_url,
                db=system.mongo_url,
                amqp=plan.amqp_uri.split("@")[-1],
                logs=plan.data_dir / "logs",
                password=demo.DEMO_PASSWORD,
                accounts=lines,
            ),
            flush=True,
        )
        # The supervisor (infra/system.py) restarts what crashes and says so; this loop only
        # waits for Ctrl-C, which stops everything.
        while not stopping:
            time.sleep(0.5)
        return 0
    except (RuntimeError, TimeoutError) as exc:
        print(f"[lianxin] could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("[lianxin] stopping…", flush=True)
        system.stop()
        print("[lianxin] stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
