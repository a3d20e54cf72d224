"""The outward channels: Web Push (VAPID, pywebpush) and SMS (a provider interface).

Web Push is an extra: Chrome's push service is unreachable in mainland China, so nothing
waits on it; the inbox and the live stream are the primary path. The VAPID key is
`NOTIFY_VAPID_KEY_FILE`, else one made once under the data folder (`var/vapid-private.pem`,
mode 0600), like the JWT secret.

SMS goes through an `SmsProvider`; the default `LogSmsProvider` writes each message as one
JSON line to `var/logs/sms.log` (no real SMS gateway is reachable here). Another provider
is named with `NOTIFY_SMS_PROVIDER=package.module:Class` (constructed with no arguments).
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parents[2]


class ChannelFailed(Exception):
    """A send that failed; `permanent` when trying again cannot help (a gone subscription,
    no phone number)."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def data_dir() -> Path:
    return Path(os.environ.get("LIANXIN_DATA") or ROOT / "var")


# --- Web Push ------------------------------------------------------------------------------
_vapid_lock = threading.Lock()


def vapid_key_file() -> Path:
    named = os.environ.get("NOTIFY_VAPID_KEY_FILE")
    path = Path(named) if named else data_dir() / "vapid-private.pem"
    with _vapid_lock:
        if not path.exists():
            from py_vapid import Vapid

            key = Vapid()
            key.generate_keys()
            path.parent.mkdir(parents=True, exist_ok=True)
            key.save_key(str(path))
            path.chmod(0o600)
    return path


def vapid_public_key() -> str:
    """The application server key a browser subscribes with (uncompressed P-256, base64url)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from py_vapid import Vapid

    key = Vapid.from_file(str(vapid_key_file()))
    raw = key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class WebPush:
    def __init__(self, subject: str | None = None, timeout: float = 10.0):
        self.subject = subject or os.environ.get(
            "NOTIFY_VAPID_SUBJECT", "mailto:notify@lianxin.invalid"
        )
        self.timeout = timeout

    def send(self, subscription: dict, payload: dict, urgent: bool) -> int:
        """Hand one message to the subscription's push service; its HTTP status."""
        from pywebpush import WebPushException, webpush

        info = {"endpoint": subscription["endpoint"], "keys": subscription["keys"]}
        try:
            answer = webpush(
                info,
                json.dumps(payload, ensure_ascii=False),
                vapid_private_key=str(vapid_key_file()),
                vapid_claims={"sub": self.subject},
                ttl=24 * 3600,
                headers={"Urgency": "high" if urgent else "normal"},
                timeout=self.timeout,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            # 404/410: the browser dropped the subscription; trying again cannot help
            raise ChannelFailed(f"push service: {status or exc}", status in (404, 410)) from None
        except Exception as exc:  # unreachable (as Chrome's is from mainland China), timeout
            raise ChannelFailed(f"push service unreachable: {type(exc).__name__}") from None
        return getattr(answer, "status_code", 201)


# --- SMS ------------------------------------------------------------------------------------
class SmsProvider(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send; the provider's id of the message. Raise ChannelFailed when it refuses."""
        ...


class LogSmsProvider:
    """Writes each SMS as a JSON line to a log file instead of sending it."""

    def __init__(self, path: Path | None = None):
        self.path = path or Path(
            os.environ.get("NOTIFY_SMS_LOG") or data_dir() / "logs" / "sms.log"
        )
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> str:
        at = datetime.now(timezone.utc).isoformat()
        line = json.dumps({"at": at, "to": phone, "text": text}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        return f"log:{at}"


def sms_provider() -> SmsProvider:
    named = os.environ.get("NOTIFY_SMS_PROVIDER")
    if not named:
        return LogSmsProvider()
    module, _, cls = named.partition(":")
    return getattr(importlib.import_module(module), cls)()
