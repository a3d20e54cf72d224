"""Redemption at the till (pure, standard library only): signed single-use tokens, short
codes, and pricing a basket against stock, per-person limits and the worker's points.

The worker's phone fetches a pack of tokens while online and shows one as a QR code
later, offline if need be. A token is signed (HMAC-SHA256 over version, user, token id
and expiry), so the till can tell a forged or altered one from a real one before it asks
the database whether it was already used. The short code is a second name for the same
token, for typing when the camera cannot read the screen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

PREFIX = "LX1"
CODE_DIGITS = 8
MAX_LINES = 20
MAX_QTY = 99


class TokenRejected(ValueError):
    """Not a token this system signed (or altered since): `reason` names why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # malformed | bad_signature | expired


@dataclass(frozen=True)
class TokenClaims:
    user: str
    token_id: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, user: str, token_id: str, expires: int) -> str:
    message = f"{PREFIX}|{user}|{token_id}|{expires}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:16])


def make_token(key: bytes, user: str, token_id: str, expires_at: datetime) -> str:
    """'LX1.<token id>.<expiry, unix s>.<user, base64url>.<signature>' (fits a small QR)."""
    expires = int(expires_at.timestamp())
    user_part = _b64(user.encode())
    return f"{PREFIX}.{token_id}.{expires}.{user_part}.{_signature(key, user, token_id, expires)}"


def read_token(key: bytes, text: str, now: datetime) -> TokenClaims:
    """The claims of a genuine, unexpired token; TokenRejected otherwise."""
    parts = str(text or "").strip().split(".")
    if len(parts) != 5 or parts[0] != PREFIX or not parts[2].isdigit() or len(text) > 300:
        raise TokenRejected("malformed")
    _, token_id, expires_text, user_part, signature = parts
    try:
        user = _unb64(user_part).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenRejected("malformed") from exc
    expected = _signature(key, user, token_id, int(expires_text))
    if not hmac.compare_digest(expected, signature):
        raise TokenRejected("bad_signature")
    expires_at = datetime.fromtimestamp(int(expires_text), timezone.utc)
    if expires_at <= now:
        raise TokenRejected("expired")
    return TokenClaims(user, token_id, expires_at)


def new_token_id() -> str:
    return secrets.token_hex(12)


def new_short_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))


def normalise_code(text: Any) -> str | None:
    """'1234 5678' or '1234-5678' -> '12345678'; None when it is not a short code."""
    digits = "".join(ch for ch in str(text or "") if ch not in " -")
    return digits if len(digits) == CODE_DIGITS and digits.isdigit() else None


# --- the basket --------------------------------------------------------------------------
class BasketRefused(ValueError):
    """The basket cannot be redeemed; `problems` says which line and why."""

    def __init__(self, code: str, problems: dict):
        super().__init__(f"{code}: {problems}")
        self.code = code  # bad_basket | out_of_stock | over_limit | insufficient_points
        self.problems = problems


@dataclass(frozen=True)
class Line:
    item_id: str
    name: str
    price: int
    qty: int

    @property
    def points(self) -> int:
        return self.price * self.qty


@dataclass(frozen=True)
class Basket:
    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(line.points for line in self.lines)

    @property
    def items(self) -> int:
        return sum(line.qty for line in self.lines)


def price_basket(
    wanted: Sequence[Mapping[str, Any]],
    catalogue: Mapping[str, Mapping[str, Any]],
    bought_this_month: Mapping[str, int],
) -> Basket:
    """Price `[{item_id, qty}]` from `catalogue` ({id: {name, price, stock,
    per_person_limit, active}}), checking stock and each item's monthly per-person limit
    against what the worker already took this month. Raises BasketRefused."""
    if not wanted or len(wanted) > MAX_LINES:
        raise BasketRefused("bad_basket", {"items": f"1 to {MAX_LINES} lines"})
    merged: dict[str, int] = {}
    for n, row in enumerate(wanted):
        item_id, qty = row.get("item_id"), row.get("qty")
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
            raise BasketRefused("bad_basket", {f"items.{n}.qty": f"a whole number 1-{MAX_QTY}"})
        item = catalogue.get(str(item_id))
        if item is None or not item.get("active", True):
            raise BasketRefused("bad_basket", {f"items.{n}.item_id": f"no such item {item_id}"})
        merged[str(item_id)] = merged.get(str(item_id), 0) + qty
    lines = []
    for item_id, qty in merged.items():
        item = catalogue[item_id]
        if qty > int(item.get("stock", 0)):
            raise BasketRefused(
                "out_of_stock", {item_id: {"name": item["name"], "stock": item.get("stock", 0)}}
            )
        limit = item.get("per_person_limit")
        if limit is not None and bought_this_month.get(item_id, 0) + qty > limit:
            raise BasketRefused(
                "over_limit",
                {
                    item_id: {
                        "name": item["name"],
                        "limit": limit,
                        "taken": bought_this_month.get(item_id, 0),
                    }
                },
            )
        lines.append(Line(item_id, str(item["name"]), int(item["price"]), qty))
    return Basket(tuple(lines))


def split_spend(total: int, wallets: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Which villages' points pay `total`: wallets drawn in the order given, each as far
    as it goes. Raises BasketRefused('insufficient_points') when they hold too little."""
    held = sum(balance for _, balance in wallets)
    if held < total:
        raise BasketRefused("insufficient_points", {"available": held, "needed": total})
    out, left = [], total
    for village, balance in wallets:
        take = min(balance, left)
        if take > 0:
            out.append((village, take))
            left -= take
        if left == 0:
            break
    return out
