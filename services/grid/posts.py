"""Staff posts on grids (网格长, 专职/兼职网格员, A/B posts) and who is on duty.

A post is keyed by grid, user and post; A/B cover is set on level-2 and level-3 grids. Who
is on duty is decided by domain.resolve_on_duty (A, or B while A is absent, up to the
level-1 leader); `on_duty` turns its answer into what callers see, for the dispatch RPC,
the leader's board and the absence preview alike. Its record, view, event and write path
are here; the RPCs and the importer use them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from contracts.caller import Caller
from contracts.grid import STAFF_ASSIGNED, StaffAssigned
from contracts.grid_http import GridPostIn
from contracts.grid_vocabulary import POST_LABELS
from contracts.roles import STAFF_READERS
from services.grid import domain
from services.grid.vault import PHONE, Vault
from services.grid.versions import Change, Fields, Outbox, Stamp, stamped
from services.grid.versions import remove as remove_version
from services.grid.versions import save as save_versions
from services.kit.inputs import problems as schema_problems

EDITABLE = ("grid_code", "user_id", "username", "display_name", "phone", "post", "ab")


class Store(Protocol):
    def post(self, post_id: str, session: Any = None) -> dict | None: ...
    def posts_by_ids(self, ids: Iterable[str], session: Any = None) -> dict[str, dict]: ...
    def posts_of_grids(self, codes: Iterable[str]) -> list[dict]: ...
    def insert_posts(self, docs: list[dict], session: Any) -> None: ...
    def replace_posts(self, docs: list[dict], session: Any) -> list[str]: ...
    def delete_post(self, post_id: str, session: Any = None) -> bool: ...


def post_id(grid_code: str, user_id: str, post: str) -> str:
    return f"{grid_code}|{user_id}|{post}"


def problems(data: Any, level: int) -> dict[str, str]:
    """Field -> problem for a post on a grid of `level`: its schema, then the rules."""
    found = schema_problems(GridPostIn(), data)
    if isinstance(data, Mapping):
        found = {**domain.check_post(data, level), **found}
    return found


def fields(data: Mapping[str, Any], previous: Mapping[str, Any] | None, vault: Vault) -> dict:
    """The stored fields of a post: its phone sealed (the same phone keeps its seal, so
    assigning a post again changes nothing)."""
    return {
        "grid_code": data["grid_code"],
        "user_id": str(data["user_id"]),
        "username": data.get("username") or None,
        "display_name": data.get("display_name"),
        "phone": vault.kept(data.get("phone"), (previous or {}).get("phone"), PHONE),
        "post": data["post"],
        "ab": data.get("ab") or None,
    }


def record(new: Fields, at: Stamp, current: Fields | None = None) -> dict[str, Any]:
    """The stored post: new (`current` None) or the next version of `current`."""
    first = None
    if current is None:
        first = {"_id": post_id(new["grid_code"], new["user_id"], new["post"]), "absent": False}
    return stamped(current, new, at, first)


def view(doc: Mapping[str, Any], vault: Vault) -> dict[str, Any]:
    """A post as staff and admins see it (a staff phone is public: the board shows it)."""
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "user_id": doc["user_id"],
        "username": doc.get("username"),
        "display_name": doc.get("display_name"),
        "phone": vault.opened(doc.get("phone"), PHONE),
        "post": doc["post"],
        "post_zh": POST_LABELS.get(doc["post"], doc["post"]),
        "ab": doc.get("ab"),
        "absent": bool(doc.get("absent")),
    }


def reads_staff(caller: Caller) -> bool:
    """Staff and admins (STAFF_READERS) and trusted services read staff records in full;
    anyone else (a resident, say) what the public notice board shows (issue 7 §8)."""
    return caller.is_trusted or caller.has_role(*STAFF_READERS)


def shown(doc: Mapping[str, Any], caller: Caller, vault: Vault) -> dict[str, Any]:
    """A post as this caller may see it: in full, or as the notice board shows it (no user
    ids or user names)."""
    if reads_staff(caller):
        return view(doc, vault)
    public = board_entry(doc, {}, vault)
    return {"display_name": public.pop("name"), **public}


def board_entry(
    doc: Mapping[str, Any], grid_names: Mapping[str, str], vault: Vault
) -> dict[str, Any]:
    """A post as the public notice board shows it: name, post and phone, nothing else."""
    return {
        "grid_code": doc["grid_code"],
        "grid_name": grid_names.get(doc["grid_code"]),
        "name": doc.get("display_name"),
        "post": doc["post"],
        "post_zh": POST_LABELS.get(doc["post"], doc["post"]),
        "ab": doc.get("ab"),
        "phone": vault.opened(doc.get("phone"), PHONE),
    }


def by_grid(docs: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for doc in docs:
        grouped[doc["grid_code"]].append(doc)
    return grouped


def on_duty(
    grid_code: str, grouped: Mapping[str, Sequence[Mapping[str, Any]]], vault: Vault
) -> dict[str, Any] | None:
    """Who handles `grid_code` now, as callers see it: {grid_code, user_id, display_name,
    phone, post, post_zh, ab, handled_at, path}; None when nobody is on duty up the chain.
    `grouped` holds the posts of the grid and its parents, by grid."""
    found = domain.resolve_on_duty(grid_code, grouped)
    if found is None:
        return None
    post = next(
        p
        for p in grouped[found.grid_code]
        if p["user_id"] == found.user_id and p["post"] == found.post
    )
    return {
        "grid_code": grid_code,
        "user_id": found.user_id,
        "username": post.get("username"),
        "display_name": post.get("display_name"),
        "phone": vault.opened(post.get("phone"), PHONE),
        "post": found.post,
        "post_zh": POST_LABELS.get(found.post, found.post),
        "ab": found.ab,
        "handled_at": found.grid_code,
        "path": list(found.path),
    }


def resealed(doc: Mapping[str, Any], vault: Vault) -> dict[str, Any] | None:
    """The post with its phone under the current key; None when it already is."""
    if not vault.stale(doc.get("phone")):
        return None
    return {**doc, "phone": vault.carried(doc.get("phone"), PHONE)}


def duty_shown(duty: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
    """An on-duty answer as this caller may see it (without user id and user name unless
    they read staff records in full)."""
    if reads_staff(caller):
        return dict(duty)
    return {k: v for k, v in duty.items() if k not in ("user_id", "username")}


def event(doc: Mapping[str, Any], change: str) -> dict[str, Any]:
    return StaffAssigned().dump(
        {
            "grid_code": doc["grid_code"],
            "user_id": doc["user_id"],
            "post": doc["post"],
            "ab": doc.get("ab"),
            "change": change,
            "actor": doc["updated_by"],
        }
    )


def save(store: Store, outbox: Outbox, session: Any, changes: Sequence[Change]) -> None:
    """Write posts (assigned, absent, present) and their `staff_assigned` events."""
    save_versions(
        store.insert_posts, store.replace_posts, outbox, session, STAFF_ASSIGNED, event, changes
    )


def remove(store: Store, outbox: Outbox, session: Any, doc: Mapping[str, Any], actor: str):
    """End a post: the record goes, its `staff_assigned` event (removed) says who ended it."""
    remove_version(store.delete_post, outbox, session, STAFF_ASSIGNED, event, doc, actor)
