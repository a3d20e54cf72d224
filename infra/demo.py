"""Demo data for `make run`: accounts for every role, and the grid registry's Haiyan county.

`load_once` puts it into an empty database, once: a marker records that it did, and after
that `make run` never writes demo data again, so nothing a user changed is reverted.
`make reset-demo` (`python -m infra.demo --reset`) empties the database, after asking, so
the next `make run` loads the demo county afresh.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from contracts.caller import Caller

DEMO_PASSWORD = "Demo@12345"
COUNTY = "330424"  # 海盐县
TOWN = "330424001"  # 武原街道

# Accounts that do not come from the grid roll (the grid dataset brings its own staff).
ACCOUNTS = [
    {"username": "admin", "display_name": "平台运维", "roles": ["operator"], "scopes": [COUNTY]},
    {
        "username": "county",
        "display_name": "县指挥中心",
        "roles": ["county_admin"],
        "scopes": [COUNTY],
    },
    {"username": "town01", "display_name": "武原街道", "roles": ["town_admin"], "scopes": [TOWN]},
    {
        "username": "dept01",
        "display_name": "县住建局",
        "roles": ["department_staff"],
        "scopes": [COUNTY],
    },
]
# The accounts `make run` prints; the grid roll adds ~150 more staff.
FEATURED = (
    "admin",
    "county",
    "town01",
    "community01",
    "dept01",
    "merchant01",
    "resident01",
    "leader01",
    "worker01",
    "worker02",
    "instructor01",
)
# Used when the grid dataset is not available, so every demo role can still log in.
FALLBACK_STAFF = [
    {
        "username": "leader01",
        "display_name": "网格长 周建华",
        "roles": ["grid_leader"],
        "scopes": [TOWN],
    },
    {
        "username": "worker01",
        "display_name": "网格员 李梅",
        "roles": ["grid_worker"],
        "scopes": [TOWN],
    },
    {
        "username": "worker02",
        "display_name": "网格员 王强",
        "roles": ["grid_worker"],
        "scopes": [TOWN],
    },
    {
        "username": "instructor01",
        "display_name": "指导员 陈立",
        "roles": ["instructor"],
        "scopes": [TOWN],
    },
]


def grid_dataset():
    try:
        from services.grid.demo import demo_dataset
    except ImportError:
        return None
    return demo_dataset()


def community_code(dataset) -> str:
    for division in (dataset or {}).get("divisions", []):
        code = division.get("code", "")
        if len(code) == 12 and code.startswith(TOWN):
            return code
    return TOWN


def accounts(dataset) -> list[dict]:
    community = community_code(dataset)
    people = list(ACCOUNTS) + [
        {
            "username": "community01",
            "display_name": "社区书记 沈红",
            "roles": ["community_admin"],
            "scopes": [community],
        },
        {
            "username": "merchant01",
            "display_name": "村口超市 收银员",
            "roles": ["merchant_staff"],
            "scopes": [community],
        },
        {
            "username": "resident01",
            "display_name": "居民 张阿姨",
            "roles": ["resident"],
            "scopes": [community],
        },
    ]
    staff = (dataset or {}).get("staff") or FALLBACK_STAFF
    seen = {p["username"] for p in people}
    for person in staff:
        if person["username"] not in seen:
            seen.add(person["username"])
            people.append(
                {
                    k: person[k]
                    for k in ("username", "display_name", "roles", "scopes")
                    if k in person
                }
                | ({"phone": person["phone"]} if person.get("phone") else {})
            )
    return people


def load(config: dict) -> dict:
    dataset = grid_dataset()
    people = accounts(dataset)
    with ClusterRpcProxy(config, timeout=300) as rpc:
        ids = {}
        for person in people:
            user = rpc.identity.ensure_user({**person, "password": DEMO_PASSWORD})
            ids[user["username"]] = user["id"]
        summary = {"users": len(ids)}
        if dataset is not None:
            summary["grid"] = rpc.grid.load_dataset(dataset, ids, caller=Caller.trusted("demo"))
        from services.points import demo as points_demo

        summary["points"] = points_demo.load(rpc, ids)
        from services.cases import demo as cases_demo

        summary["cases"] = cases_demo.load(rpc, ids)
    return summary


def _marker(client):
    from services.kit.settings import db_name

    return client[db_name("system")]["demo"]


def load_once(config: dict, mongo_url: str) -> dict | str:
    """Load the demo into an empty database, once. Answers the summary, or why it did not.

    Empty means no user accounts yet. A marker says "loading" before the load and "loaded"
    after it, so a load cut short (Ctrl-C, a crash) is finished by the next start, its
    loaders being idempotent, while a database that holds anyone's data is never touched.
    """
    from services.kit.mongo import connect
    from services.kit.settings import db_name

    client = connect(mongo_url)  # shared per process (kit.mongo): not ours to close
    marker = _marker(client)
    state = (marker.find_one({"_id": "demo"}) or {}).get("state")
    if state == "loaded":
        return "already loaded once; your changes are kept (make reset-demo starts over)"
    if state is None and client[db_name("identity")]["users"].estimated_document_count():
        return "the database already holds data: demo not loaded"
    now = datetime.now(timezone.utc)
    marker.update_one(
        {"_id": "demo"}, {"$set": {"state": "loading", "started_at": now}}, upsert=True
    )
    summary = load(config)
    marker.update_one(
        {"_id": "demo"},
        {"$set": {"state": "loaded", "loaded_at": datetime.now(timezone.utc)}},
    )
    return summary


def reset(data_dir: Path, mongo_url: str | None, gateway_port: int, ask=input) -> int:
    """Empty the database `make run` uses, after asking, so it loads the demo afresh."""
    from infra.system import port_open
    from services.kit.mongo import connect
    from services.kit.settings import db_name

    if port_open(gateway_port):
        print(f"Lianxin is running (port {gateway_port}): stop `make run` first.")
        return 1
    target = mongo_url or str(data_dir / "db")
    print(f"This deletes every record in {target} (users, grids, households, cases, points)")
    print("and the next `make run` loads the demo county again.")
    if ask("Type 'reset' to go on: ").strip() != "reset":
        print("Nothing changed.")
        return 0  # the person chose not to: not a failure
    if mongo_url:
        client = connect(mongo_url)
        prefix = db_name("")
        for name in client.list_database_names():
            if name.startswith(prefix):
                client.drop_database(name)
    else:
        shutil.rmtree(data_dir / "db", ignore_errors=True)
    print("Done: `make run` now loads the demo county.")
    return 0


def main() -> int:
    from infra.system import ROOT
    from services.kit.settings import nameko_config

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reset", action="store_true", help="empty the database (asks first)")
    args = parser.parse_args()
    if args.reset:
        return reset(
            Path(os.environ.get("LIANXIN_DATA", ROOT / "var")),
            os.environ.get("MONGO_URL") or None,
            int(os.environ.get("GATEWAY_PORT", "8000")),
        )
    print(load(nameko_config()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
