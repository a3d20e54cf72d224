"""The announcement aggregate (公示公告): who a notice reaches, its record, its view, and the
drafts of one batch of its job.

A notice is a job (DESIGN §8 "long work shows progress"): publishing stores the record
(`state: resolving`) and answers at once; the job runner then fixes the recipients in
batches of 500 (`sending`, `total`), and writes each batch's messages in one transaction
that also marks the batch done and raises `done`. A runner that dies leaves its lease to
run out, and another (or the same, restarted) picks the job up at the first batch not done:
every person gets the notice once.

Audiences:
- `grid`: users living or working inside a grid or division (`roles`, default residents);
- `posts`: the holders of staff posts (网格长, 专职网格员 …) on the grids under a code;
- `tag`: households with a tag (独居老人 …) under a code. Residents are not linked to
  household files in this system, so the notice goes to the staff of the grids those
  households live in, each told how many of them to carry it to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from contracts.grid_vocabulary import POST_LABELS, TAG_LABELS
from contracts.roles import ROLE_LABELS
from services.notify.messages import Draft

BATCH = 500
SERVING_POSTS = ("grid_leader", "full_time_worker", "part_time_worker", "micro_grid_leader")


class People(Protocol):
    def community(self, code: str) -> str: ...
    def place(self, grid_code: str, grid_name: str | None = None) -> str: ...
    def users(self, scope: str, role: str) -> Iterable[dict]: ...
    def posts_under(self, code: str) -> list[dict]: ...
    def households(self, code: str, tag: str) -> Iterable[dict]: ...


def describe(audience: dict, people: People) -> str:
    """ "海兴社区 1幢 · 居民" — the audience as the sender reads it."""
    where = people.place(audience["code"])
    if audience["kind"] == "posts":
        what = "、".join(POST_LABELS.get(p, p) for p in audience["posts"])
    elif audience["kind"] == "tag":
        what = f"{TAG_LABELS.get(audience['tag'], audience['tag'])}家庭（由网格员转告）"
    else:
        what = "、".join(ROLE_LABELS.get(r, r) for r in audience.get("roles") or ["resident"])
    return f"{where} · {what}"


def resolve(audience: dict, people: People) -> tuple[list[dict], int | None]:
    """([{id, name, role, households?}] without repeats, households reached or None)."""
    code = audience["code"]
    found: dict[str, dict] = {}
    if audience["kind"] == "grid":
        for role in audience.get("roles") or ["resident"]:
            for user in people.users(code, role):
                found.setdefault(
                    user["id"],
                    {"id": user["id"], "name": user.get("display_name") or "", "role": role},
                )
        return list(found.values()), None
    posts = [p for p in people.posts_under(code) if p.get("user_id")]
    if audience["kind"] == "posts":
        for p in posts:
            if p["post"] in audience["posts"]:
                found.setdefault(
                    p["user_id"],
                    {"id": p["user_id"], "name": p.get("display_name") or "", "role": p["post"]},
                )
        return list(found.values()), None
    # a tag: the staff serving the grids the tagged households live in, with their counts
    per_grid: dict[str, int] = {}
    for household in people.households(code, audience["tag"]):
        per_grid[household["grid_code"]] = per_grid.get(household["grid_code"], 0) + 1
    for p in posts:
        if p["post"] not in SERVING_POSTS:
            continue
        mine = sum(
            n
            for g, n in per_grid.items()
            if g == p["grid_code"] or g.startswith(p["grid_code"] + "-")
        )
        if mine:
            person = found.setdefault(
                p["user_id"],
                {
                    "id": p["user_id"],
                    "name": p.get("display_name") or "",
                    "role": p["post"],
                    "households": 0,
                },
            )
            person["households"] = max(person["households"], mine)
    return list(found.values()), sum(per_grid.values())


def by_role(recipients: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in recipients:
        label = ROLE_LABELS.get(r["role"]) or POST_LABELS.get(r["role"], r["role"])
        counts[label] = counts.get(label, 0) + 1
    return counts


def batches(recipients: list[dict]) -> list[list[dict]]:
    return [recipients[i : i + BATCH] for i in range(0, len(recipients), BATCH)]


def record(data: dict, sender: dict, audience_zh: str, now: datetime) -> dict:
    return {
        "_id": uuid.uuid4().hex,
        "title": data["title"].strip(),
        "body": data["body"].strip(),
        "audience": data["audience"],
        "audience_zh": audience_zh,
        "code": data["audience"]["code"],
        "urgent": bool(data.get("urgent")),
        "sender": sender,
        "state": "resolving",
        "total": None,
        "done": 0,
        "errors": [],
        "failures": 0,
        "owner": None,
        "lease_until": now,  # due at once
        "created_at": now,
        "finished_at": None,
    }


def drafts(announcement: dict, users: list[dict]) -> list[Draft]:
    sender = announcement["sender"].get("name") or ""
    values = {"title": announcement["title"], "body": announcement["body"], "sender": sender}
    out = []
    for user in users:
        data: dict[str, Any] = {"announcement_id": announcement["_id"], "sender": sender}
        if user.get("households"):
            data["households"] = user["households"]
        out.append(
            Draft(
                user_id=user["id"],
                kind="announcement",
                values=values,
                source=f"ann:{announcement['_id']}",
                critical=announcement["urgent"],
                link="/messages?kind=announcement",
                data=data,
                announcement_id=announcement["_id"],
                to_name=user.get("name"),
            )
        )
    return out


def view(doc: dict, read: int | None = None) -> dict:
    total = doc.get("total")
    return {
        "id": doc["_id"],
        "title": doc["title"],
        "body": doc["body"],
        "audience": doc["audience"],
        "audience_zh": doc.get("audience_zh", ""),
        "urgent": doc.get("urgent", False),
        "sender": doc["sender"],
        "state": doc["state"],
        "total": total,
        "done": doc.get("done", 0),
        "read": read or 0,
        "progress": round(doc.get("done", 0) / total, 4) if total else (1.0 if total == 0 else 0.0),
        "errors": doc.get("errors", [])[-5:],
        "created_at": _iso(doc["created_at"]),
        "finished_at": _iso(doc.get("finished_at")),
    }


def _iso(at: Any) -> str | None:
    return at.isoformat() if isinstance(at, datetime) else at
