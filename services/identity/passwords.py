"""Password hashing: argon2id at OWASP's minimum or above, off the event loop."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

# OWASP Password Storage Cheat Sheet: argon2id, m >= 19 MiB, t >= 2, p = 1.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verified against when the user name is unknown, so both paths take the same time.
_DUMMY = HASHER.hash("lianxin-timing-equaliser")


def hash_password(password: str) -> str:
    return tpool.execute(HASHER.hash, password)


def verify_password(stored: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return HASHER.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return tpool.execute(verify)


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)
