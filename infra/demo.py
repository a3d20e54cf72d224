"""Demo data for `make run`: accounts for every role, and the grid registry's Haiyan county.

Idempotent: users are ensured by user name and the grid dataset loads once.
"""

from __future__ import annotations

import sys

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


def main() -> int:
    from services.kit.settings import nameko_config

    print(load(nameko_config()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
