"""Staff posts on grids (网格长, 专职/兼职网格员, A/B posts) and who is on duty.

A post is keyed by grid, user and post; A/B cover is set on level-2 and level-3 grids, and
the on-duty rule (domain.resolve_on_duty) walks from a grid up to its level-1 leader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.grid_vocabulary import POST_LABELS


def post_id(grid_code: str, user_id: str, post: str) -> str:
    return f"{grid_code}|{user_id}|{post}"


def view(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": doc["_id"],
        "grid_code": doc["grid_code"],
        "user_id": doc["user_id"],
        "username": doc.get("username"),
        "display_name": doc.get("display_name"),
        "phone": doc.get("phone"),
        "post": doc["post"],
        "post_zh": POST_LABELS.get(doc["post"], doc["post"]),
        "ab": doc.get("ab"),
        "absent": bool(doc.get("absent")),
    }


def board_entry(doc: Mapping[str, Any], grid_names: Mapping[str, str]) -> dict[str, Any]:
    """A post as the public notice board shows it: name, post and phone, nothing else."""
    return {
        "grid_code": doc["grid_code"],
        "grid_name": grid_names.get(doc["grid_code"]),
        "name": doc.get("display_name"),
        "post": doc["post"],
        "post_zh": POST_LABELS.get(doc["post"], doc["post"]),
        "ab": doc.get("ab"),
        "phone": doc.get("phone"),
    }
