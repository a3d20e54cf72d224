"""Personal data sealed at rest (DESIGN §3.5, issue 7 §2): AES-256-GCM from the PyPI
`cryptography` package, with the id of its key beside every ciphertext, so keys can rotate.

A sealed value is what is stored in place of the clear text:

    {"kid": "k20250301-9f2c", "ct": "<base64: 12-byte nonce | ciphertext | 16-byte tag>"}

Its purpose ("phone", "id_number", …) is bound to it as associated data: a ciphertext
copied into another field does not open. A fresh random nonce per seal (96 bits; NIST
SP 800-38D's limit of 2^32 seals per key is far off here), so the same text seals
differently every time: whoever compares records compares the opened text (or a keyed hash).

Keys: `KeySource(env_name, file_name)` reads them from the environment variable
(`kid:base64-key,kid:base64-key`; the first seals, every one opens), else from a file under
the data folder (`LIANXIN_DATA`, default `var/`) made on first use, like the JWT secret:
development only. A new key goes first; values sealed under the others are moved to it by the
owning service's re-key command, after which the old key can go.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
ROOT = Path(__file__).resolve().parents[2]


class KeyConfigError(Exception):
    """The keys are misconfigured (a malformed entry, no key at all)."""


class Unreadable(Exception):
    """A sealed value no key here opens: its key is unknown, or it was altered."""


def new_kid() -> str:
    """A key id that sorts by when the key was made and does not repeat."""
    return f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"


def is_sealed(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("kid"), str) and "ct" in value


@dataclass(frozen=True)
class Keyring:
    """Keys by id; `current` seals, every key opens."""

    current: str
    keys: Mapping[str, bytes]
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyConfigError(f"the current key {self.current!r} is not among the keys")
        for kid, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise KeyConfigError(f"key {kid!r}: {len(key)} bytes, AES-256 takes {KEY_BYTES}")
            self._ciphers[kid] = AESGCM(key)

    @classmethod
    def generate(cls, kid: str | None = None) -> Keyring:
        kid = kid or new_kid()
        return cls(kid, {kid: AESGCM.generate_key(bit_length=8 * KEY_BYTES)})

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """From `kid:base64key,kid:base64key` (the first is current)."""
        keys: dict[str, bytes] = {}
        for entry in (e.strip() for e in spec.split(",")):
            if not entry:
                continue
            kid, sep, encoded = entry.partition(":")
            if not sep or not kid or kid in keys:
                raise KeyConfigError("keys are written kid:base64key, each kid once")
            try:
                keys[kid] = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError:
                raise KeyConfigError(f"key {kid!r} is not base64") from None
        if not keys:
            raise KeyConfigError("no key given")
        return cls(next(iter(keys)), keys)

    def spec(self) -> str:
        ordered = [self.current, *(k for k in self.keys if k != self.current)]
        return ",".join(f"{k}:{base64.urlsafe_b64encode(self.keys[k]).decode()}" for k in ordered)

    def with_new_key(self, kid: str | None = None) -> Keyring:
        """This ring with a new current key in front (the others still open)."""
        new = Keyring.generate(kid)
        return Keyring(new.current, {**new.keys, **self.keys})

    def seal(self, text: str, purpose: str) -> dict[str, str]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current].encrypt(nonce, text.encode(), purpose.encode())
        return {"kid": self.current, "ct": base64.b64encode(nonce + sealed).decode()}

    def open(self, sealed: Mapping[str, Any], purpose: str) -> str:
        cipher = self._ciphers.get(str(sealed.get("kid")))
        if cipher is None:
            raise Unreadable(f"no key {sealed.get('kid')!r} here")
        try:
            raw = base64.b64decode(str(sealed["ct"]), validate=True)
            text = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
        except (InvalidTag, ValueError):
            raise Unreadable(
                f"a {purpose} sealed under {sealed.get('kid')!r} does not open"
            ) from None
        return text.decode()

    def is_current(self, sealed: Mapping[str, Any]) -> bool:
        return sealed.get("kid") == self.current


class KeySource:
    """Where a service's keys come from: the environment (or its nameko config), else a
    development file under the data folder, made on first use and read again when it
    changes (so a key added there by the re-key command reaches running services)."""

    def __init__(self, env_name: str, file_name: str, config: Mapping[str, Any] | None = None):
        self.env_name = env_name
        self.spec = str((config or {}).get(env_name) or os.environ.get(env_name) or "")
        data = os.environ.get("LIANXIN_DATA") or str(ROOT / "var")
        self.path = Path(data) / file_name
        self._ring: Keyring | None = Keyring.parse(self.spec) if self.spec else None
        self._seen: int | None = None

    @property
    def from_environment(self) -> bool:
        return bool(self.spec)

    def keyring(self) -> Keyring:
        if self.spec:
            assert self._ring is not None
            return self._ring
        stamp = self._stamp()
        if self._ring is None or stamp != self._seen:
            if stamp is None:
                _create(self.path, Keyring.generate().spec())
            self._ring = Keyring.parse(self.path.read_text().strip())
            self._seen = self._stamp()
        return self._ring

    def add_key(self) -> Keyring:
        """A new current key in the development file (the old ones kept to open with)."""
        if self.spec:
            raise KeyConfigError(
                f"the keys come from {self.env_name}: put the new key first there, restart "
                "the services, then re-key"
            )
        ring = self.keyring().with_new_key()
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        tmp.write_text(ring.spec())
        tmp.chmod(0o600)
        tmp.replace(self.path)
        return self.keyring()

    def _stamp(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None


def _create(path: Path, text: str) -> None:
    """Write `path` once, atomically: processes starting together agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_text(text)
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
