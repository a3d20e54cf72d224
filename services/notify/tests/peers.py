"""Stand-ins for the grid and identity services in the notify interface tests: real nameko
services on the real broker, answering the few RPCs notify asks (names, posts, users,
households) the way the real ones do, from a small fixed roll. The end-to-end tier runs
notify against the real grid and identity services.
"""

from __future__ import annotations

from nameko.rpc import rpc

from contracts.errors import NotFound

VILLAGE = "330424001001"
L1 = VILLAGE + "-001"
L2 = L1 + "-01"
GRIDS = {L1: "一网格", L2: "1幢"}
POSTS = [
    {"grid_code": L1, "user_id": "leader-1", "display_name": "网格长 周", "post": "grid_leader"},
    {"grid_code": L2, "user_id": "w1", "display_name": "网格员 李", "post": "full_time_worker"},
    {"grid_code": L2, "user_id": "w2", "display_name": "网格员 王", "post": "part_time_worker"},
]
HOUSEHOLDS = [{"id": "h1", "grid_code": L2}, {"id": "h2", "grid_code": L2}]
# residents: tests set how many (an announcement's audience)
USERS: dict[str, dict] = {
    "w1": {
        "id": "w1",
        "display_name": "网格员 李",
        "roles": ["grid_worker"],
        "scopes": [L1],
        "phone": "13900000001",
    },
    "leader-1": {
        "id": "leader-1",
        "display_name": "网格长 周",
        "roles": ["grid_leader"],
        "scopes": [L1],
        "phone": None,
    },
    "admin-c": {
        "id": "admin-c",
        "display_name": "社区书记",
        "roles": ["community_admin"],
        "scopes": [VILLAGE],
        "phone": "13900000009",
    },
}


def residents(n: int) -> None:
    for i in range(n):
        uid = f"r{i:05d}"
        USERS[uid] = {
            "id": uid,
            "display_name": f"居民{i}",
            "roles": ["resident"],
            "scopes": [L2],
            "phone": None,
        }


class GridStandIn:
    name = "grid"

    @rpc
    def health(self):
        return {"service": "grid", "ok": True}

    @rpc
    def list_divisions(self, prefix=None):
        return [{"code": VILLAGE, "name": "海兴社区", "level": 4, "parent": VILLAGE[:9]}]

    @rpc
    def get_grid(self, code, boundary=False, *, caller):
        if code not in GRIDS:
            raise NotFound(details={"grid_code": code})
        return {"code": code, "name": GRIDS[code]}

    @rpc
    def list_grids(self, prefix=None, level=None, *, caller):
        return [
            {"code": c, "name": n}
            for c, n in GRIDS.items()
            if c.startswith(prefix or "") and (level is None or c.count("-") == level)
        ]

    @rpc
    def list_posts(self, grid_code, subtree=False, *, caller):
        return [
            p
            for p in POSTS
            if p["grid_code"] == grid_code
            or (subtree and p["grid_code"].startswith(grid_code + "-"))
        ]

    @rpc
    def search_households(
        self, name=None, tag=None, building=None, grid_code=None, limit=50, skip=0, *, caller
    ):
        found = [
            h
            for h in HOUSEHOLDS
            if tag == "elderly_alone" and h["grid_code"].startswith(grid_code or "")
        ]
        return found[skip : skip + limit]


class IdentityStandIn:
    name = "identity"

    @rpc
    def list_users(self, scope=None, role=None, limit=100, skip=0):
        found = [
            u
            for u in sorted(USERS.values(), key=lambda u: u["id"])
            if (not role or role in u["roles"])
            and (not scope or any(s.startswith(scope) for s in u["scopes"]))
        ]
        return found[skip : skip + limit]

    @rpc
    def users_in(self, scope, roles):
        return [
            {"id": u["id"], "display_name": u["display_name"]}
            for u in sorted(USERS.values(), key=lambda u: u["id"])
            if set(roles) & set(u["roles"]) and any(s.startswith(scope) for s in u["scopes"])
        ]

    @rpc
    def get_user(self, user_id):
        if user_id not in USERS:
            raise NotFound(details={"user_id": user_id})
        return USERS[user_id]
