"""Identity rules: roles, lock-out, refresh-token families. Plain Python, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.roles import ROLES

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
SCOPE_CODE = re.compile(r"^[0-9]{2,12}(-[0-9A-Za-z]{1,8})*$")

# Lock-out: after FREE_FAILURES failed sign-ins in a row, each further one locks the
# account for a period that doubles, capped so that an attacker who knows a user name
# can delay that user by minutes, never lock them out for good.
#
# No enumeration: the lock belongs to the NAME typed, whether or not an account has it, and
# a disabled account fails like a wrong password. So unknown, wrong, disabled and locked look
# the same from outside: 401 `invalid_credentials` for the first four failures of a name,
# then 429 `account_locked` with the same Retry-After for every name; only the right password
# of an enabled, unlocked account signs in. (The audit log keeps the true reason.)
FREE_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
LONGEST_LOCK = timedelta(minutes=15)


# How long a refresh token lives (the gateway's JWT_REFRESH_TOKEN_EXPIRES): a session family
# not rotated for this long cannot be used any more and needs no revoking.
SESSION_LIFETIME = timedelta(days=14)


def lock_duration(failures: int) -> timedelta:
    """How long to lock after the `failures`-th consecutive failure (zero: no lock)."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doubled = FIRST_LOCK * (2 ** min(failures - FREE_FAILURES, 20))
    return min(doubled, LONGEST_LOCK)


def retry_after(locked_until: datetime | None, now: datetime) -> int:
    """Whole seconds until a lock ends (0 when not locked)."""
    if locked_until is None or locked_until <= now:
        return 0
    return max(1, int((locked_until - now).total_seconds() + 0.999))


def signs_in(user: dict | None, password_ok: bool) -> bool:
    """The one way through: the right password of an account that exists and is enabled."""
    return user is not None and password_ok and not user.get("disabled")


# A phone on a weak network sends its refresh token, the answer is lost (or the gateway
# worker died), and it sends the same token again. Within this grace of the rotation, the
# token just spent answers the successor that rotation made (REFRESH_GRACE_SECONDS).
REFRESH_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class RefreshVerdict:
    """What presenting refresh token `jti` of a family means."""

    outcome: str  # "rotate" | "replay" | "revoked" | "reused"
    successor: str | None = None  # replay: the token the lost answer carried


def judge_refresh(
    family: dict | None, jti: str, now: datetime, grace: timedelta = REFRESH_GRACE
) -> RefreshVerdict:
    """A family accepts its current token (rotate). The token spent by the latest rotation,
    presented again within `grace` of it, gets that rotation's successor again (replay):
    the same session, so whichever answer the client kept, its next rotation works. Any
    other spent token is reuse, and ends the family.

    Security: the grace reaches only the *immediately previous* token, for `grace` after its
    rotation, and only while its successor is still current; it answers that successor, never
    a new token. A stolen older token, the previous one after the grace, or the previous one
    once its successor has been rotated again are all reuse, as before. What the grace gives
    up is the alarm for a thief who presents the token just spent within 30 s of its owner:
    the thief then shares the owner's session until one of them rotates and the other comes
    more than `grace` later, which is reuse and ends the family.
    """
    if family is None or family.get("revoked_at") is not None:
        return RefreshVerdict("revoked")
    current = family.get("current_jti")
    if current == jti:
        return RefreshVerdict("rotate")
    previous = family.get("previous") or {}
    rotated_at = previous.get("at")
    if (
        jti
        and previous.get("jti") == jti
        and previous.get("successor") == current
        and isinstance(rotated_at, datetime)
        and now - rotated_at <= grace
    ):
        return RefreshVerdict("replay", current)
    return RefreshVerdict("reused")


def validate_user_fields(
    username: str | None, roles: list[str] | None, scopes: list[str] | None
) -> dict[str, str]:
    """Field -> problem, for the parts of a user the schema cannot judge alone."""
    problems: dict[str, str] = {}
    if username is not None and not USERNAME.match(username):
        problems["username"] = "3–64 letters, digits, '.', '_' or '-'"
    if roles is not None:
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            problems["roles"] = f"unknown roles: {unknown}" if unknown else "at least one role"
    if scopes is not None:
        bad = [s for s in scopes if not SCOPE_CODE.match(s)]
        if bad:
            problems["scopes"] = f"not division or grid codes: {bad}"
    return problems


def public_user(doc: dict) -> dict:
    """The part of a user record that may leave the identity service."""
    return {
        "id": doc["_id"],
        "username": doc["username"],
        "display_name": doc.get("display_name") or doc["username"],
        "roles": list(doc.get("roles", [])),
        "scopes": list(doc.get("scopes", [])),
        "phone": doc.get("phone"),
        "disabled": bool(doc.get("disabled")),
    }
