"""How the grid keeps personal data (DESIGN §3.5, issue 7 §2): ID numbers, phones and birth
dates sealed with AES-GCM (services/kit/sealing.py); an ID number also as a keyed hash, to find
a person by their number without opening anything, and as a mask, to show it without opening
it.

The aggregates build their records with `kept` and show them with `opened` / `shown`; only
the audited reveal of one member (households.reveal) opens an ID number. Keys: env
`GRID_DATA_KEYS` (`kid:base64key,…`, the first seals), else `var/grid-data-keys` made on
first use (development); the hash key: env `GRID_ID_KEY`. Rotating: services/grid/rekey.py.
"""

from __future__ import annotations

import os
from typing import Any

from services.grid import domain
from services.kit.sealing import Keyring, KeySource, is_sealed

ID_NUMBER, PHONE, BIRTH_DATE = "id_number", "phone", "birth_date"  # what a seal is bound to
KEYS_ENV, KEYS_FILE = "GRID_DATA_KEYS", "grid-data-keys"
# Development default; set GRID_ID_KEY (32+ random bytes, hex or text) in any real deployment.
DEV_ID_KEY = "lianxin-dev-id-key-not-for-production"


def id_key(config: dict | None = None) -> bytes:
    value = (config or {}).get("GRID_ID_KEY") or os.environ.get("GRID_ID_KEY") or DEV_ID_KEY
    return value.encode()


class Vault:
    """The grid's keys and what it does with them."""

    def __init__(self, hash_key: bytes, keys: KeySource | Keyring):
        self.hash_key = hash_key
        self.keys = keys

    @property
    def ring(self) -> Keyring:
        return self.keys if isinstance(self.keys, Keyring) else self.keys.keyring()

    def id_hash(self, id_number: str) -> str:
        return domain.id_lookup_hash(id_number, self.hash_key)

    def seal(self, text: str | None, purpose: str) -> dict | None:
        return None if text is None else self.ring.seal(text, purpose)

    def opened(self, value: Any, purpose: str) -> str | None:
        """The clear text of a stored value. Text not sealed yet (kept in clear before
        encryption at rest; rekey.py seals it) is itself."""
        if value is None or value == "":
            return None
        if is_sealed(value):
            return self.ring.open(value, purpose)
        return str(value)

    def shown(self, value: Any, purpose: str, unmasked: bool) -> str | None:
        """A stored phone as a caller sees it: clear when `unmasked`, else masked."""
        text = self.opened(value, purpose)
        return text if unmasked else domain.mask_phone(text)

    def kept(self, given: Any, previous: Any, purpose: str) -> dict | None:
        """What to store for `given` where `previous` was stored: nothing for nothing; a
        masked value stands for what is stored; the same text keeps its seal (so a record
        sent back unchanged stays unchanged); other text is sealed anew."""
        if given is None or given == "":
            return None
        given = str(given)
        if domain.is_masked(given) or self.opened(previous, purpose) == given:
            return self.carried(previous, purpose)
        return self.ring.seal(given, purpose)

    def carried(self, previous: Any, purpose: str) -> dict | None:
        """`previous` as it is stored from now on: sealed under the current key (a value
        under an older key, or still in clear, is sealed again)."""
        if previous is None or previous == "":
            return None
        if is_sealed(previous) and self.ring.is_current(previous):
            return previous
        return self.seal(self.opened(previous, purpose), purpose)

    def stale(self, value: Any) -> bool:
        """Is this stored value still to be moved under the current key?"""
        if value is None or value == "":
            return False
        return not (is_sealed(value) and self.ring.is_current(value))


def vault_from(config: dict | None = None) -> Vault:
    """The vault of this deployment (its hash key and data keys)."""
    return Vault(id_key(config), KeySource(KEYS_ENV, KEYS_FILE, config))
