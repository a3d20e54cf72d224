"""Scope by code prefix (DESIGN §3.4): a user sees a record when its grid or division code
starts with one of the user's scope codes."""

from __future__ import annotations

from collections.abc import Iterable


def in_scope(code: str, scopes: Iterable[str]) -> bool:
    return any(scope and code.startswith(scope) for scope in scopes)


def prefix_range(scope: str) -> dict:
    """A MongoDB range that matches every code starting with `scope`, using an index."""
    return {"$gte": scope, "$lt": scope + "\uffff"}


def narrowest(scopes: Iterable[str]) -> list[str]:
    """Drop scopes already covered by a shorter one (["3304", "330424"] -> ["3304"])."""
    kept: list[str] = []
    for scope in sorted(set(scopes), key=len):
        if not any(scope.startswith(k) for k in kept):
            kept.append(scope)
    return sorted(kept)
