"""What identity announces, known in each gateway process without asking per request:
ended sessions (refused at once) and users' profiles (for /auth/me).

Identity announces every ended session family (`session_revoked`, through its outbox, in the
transaction that ends it). Each gateway process follows those announcements on a thread of
its own: an exclusive, auto-deleted queue bound to identity's event exchange. It binds the
queue first and only then loads the families ended in the last access-token lifetime (RPC
`revoked_sessions`), so nothing ended in between is missed; from then on the set is exact
and a revoked token is refused as soon as the announcement arrives (well under a second).

Only families ended within one access-token lifetime matter: older access tokens have
expired anyway (refresh tokens are checked by identity itself), so the set stays small.

While the subscription is not healthy (starting, broker gone, reconnecting) every check asks
identity (`session_active`) as before: never a stale answer, only a slower one.

A route that ends sessions (logout, a refresh that finds reuse, an operator changing a user)
answers only once its own process has heard identity's announcement (`settle`): the broker
routed it to every gateway's queue at once, so the next request, whichever process takes
it, is refused too.

The same subscription carries `user_changed` (the user as identity now knows them): a
profile read once through the RPC `me` is kept and replaced by each announcement, so
/auth/me needs no call while nothing changed. Profiles are dropped whenever the subscription
breaks (an announcement may have been missed) and kept for at most MAX_PROFILES users.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from kombu import Connection, Queue, binding
from nameko.events import get_event_exchange

from contracts.events import USER_CHANGED
from contracts.identity import SESSION_REVOKED

log = logging.getLogger("gateway.identity_feed")
MAX_PROFILES = 10_000
SLACK = timedelta(minutes=1)  # clocks of identity and gateway may differ a little


def _epoch(iso: str) -> float:
    at = datetime.fromisoformat(iso)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.timestamp()


class IdentityFeed:
    """`revoked(family)` and `profile(user_id, load)`: from what was announced while the
    subscription is healthy, else by RPC to identity."""

    def __init__(
        self,
        amqp_uri: str,
        rpc: Callable[[], Any],
        keep: timedelta,
        follow: bool = True,
        heartbeat: int = 10,
    ):
        self.amqp_uri = amqp_uri
        self._rpc = rpc  # the app's RpcPool, looked up at call time
        self.keep = keep + SLACK
        self.follow = follow
        self.heartbeat = heartbeat
        self._families: dict[str, float] = {}  # family -> when it was ended (epoch seconds)
        # the last announcements heard, numbered, for `settle`
        # (number, kind, families, user id)
        self._heard: deque[tuple[int, str, frozenset[str], str | None]] = deque(maxlen=1024)
        self._numbers = itertools.count(1)
        self._last = 0
        self._news = threading.Condition()
        self._profiles: OrderedDict[str, dict] = OrderedDict()
        self._healthy = threading.Event()
        self._stopping = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- the check -----------------------------------------------------------------------
    def revoked(self, family: str) -> bool:
        if not family:
            return True  # no family, no session (identity would say the same)
        self.start()
        if self._healthy.is_set():
            return family in self._families
        return not self._rpc().call("identity", "session_active", family)

    def profile(self, user_id: str, load: Callable[[], dict]) -> dict:
        """The user as identity last announced them; `load()` (the RPC) when not known."""
        self.start()
        if not self._healthy.is_set():
            return load()
        known = self._profiles.get(user_id)
        if known is not None:
            return dict(known)
        before = self._last
        found = load()
        with self._news:  # keep it only if no announcement could have overtaken the call
            if self._healthy.is_set() and self._last == before:
                self._remember(user_id, found)
        return found

    def _remember(self, user_id: str, profile: dict) -> None:
        self._profiles[user_id] = dict(profile)
        self._profiles.move_to_end(user_id)
        while len(self._profiles) > MAX_PROFILES:
            self._profiles.popitem(last=False)

    def mark(self) -> int:
        """The number of the last announcement heard: pass it to `settle` after the call."""
        return self._last

    def settle(
        self,
        mark: int,
        *,
        family: str | None = None,
        user_id: str | None = None,
        kind: str = SESSION_REVOKED,
        timeout: float = 3.0,
    ) -> bool:
        """Wait until an announcement of `kind` after `mark` names `family` (or `user_id`).

        True when heard; False after `timeout`, or at once when not following (then every
        check asks identity anyway). An ended `family` is refused by this process at once.
        Announcements come in the order identity made them: once a user's sessions are heard
        ended, the `user_changed` of the same change has been applied too.
        """
        if family:
            self._families.setdefault(family, time.time())
        if not self._healthy.is_set():
            return False

        def heard() -> bool:
            return any(
                number > mark
                and what == kind
                and (family in families or (user_id is not None and user_id == who))
                for number, what, families, who in self._heard
            )

        with self._news:
            return self._news.wait_for(heard, timeout)

    @property
    def healthy(self) -> bool:
        return self._healthy.is_set()

    def wait_healthy(self, timeout: float) -> bool:
        self.start()
        return self._healthy.wait(timeout)

    # --- following identity --------------------------------------------------------------
    def start(self) -> None:
        """Start following (once per process, lazily: gunicorn forks workers after import)."""
        if not self.follow or self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="revocation-feed", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._healthy.clear()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._follow()
                delay = 0.5
            except Exception as exc:  # broker or identity unreachable: ask per request meanwhile
                log.warning("revocation feed interrupted (%s); retrying in %.1f s", exc, delay)
            finally:
                self._healthy.clear()
                self._profiles.clear()  # announcements may be missed until we follow again
            self._stopping.wait(delay)
            delay = min(delay * 2, 30.0)

    def _follow(self) -> None:
        exchange = get_event_exchange("identity", {})
        queue = Queue(
            f"gateway-identity-{uuid.uuid4().hex}",
            bindings=[binding(exchange, routing_key=k) for k in (SESSION_REVOKED, USER_CHANGED)],
            exclusive=True,
            auto_delete=True,
            durable=False,
        )
        with Connection(self.amqp_uri, heartbeat=self.heartbeat, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
            with conn.Consumer(queue, callbacks=[self._on_message], accept=["json"], no_ack=True):
                self._load()  # after the binding: an end announced meanwhile is queued
                self._healthy.set()
                log.info("revocation feed following identity (%d known)", len(self._families))
                while not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        conn.drain_events(timeout=1)
                    conn.heartbeat_check()
                    self._forget_old()

    def _load(self) -> None:
        since = datetime.now(timezone.utc) - self.keep
        ended = self._rpc().call("identity", "revoked_sessions", since.isoformat())
        for entry in ended:
            self._families[entry["family"]] = _epoch(entry["revoked_at"])

    def _on_message(self, body: dict, _message) -> None:
        kind = body.get("type") if isinstance(body, dict) else None
        if kind == USER_CHANGED:
            self._user_changed(body)
        elif kind == SESSION_REVOKED:
            self._sessions_ended(body)

    def _user_changed(self, body: dict) -> None:
        user = body.get("payload")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            log.warning("ignored a malformed user_changed event: %r", body)
            return
        with self._news:
            self._last = next(self._numbers)
            self._heard.append((self._last, USER_CHANGED, frozenset(), user["id"]))
            if user["id"] in self._profiles:
                self._remember(user["id"], user)
            self._news.notify_all()

    def _sessions_ended(self, body: dict) -> None:
        try:
            payload = body["payload"]
            at = _epoch(payload["revoked_at"])
            families = frozenset(payload["families"])
            who = payload.get("user_id")
        except (KeyError, TypeError, ValueError):
            log.warning("ignored a malformed session_revoked event: %r", body)
            return
        for family in families:
            self._families[family] = at
        with self._news:
            self._last = next(self._numbers)
            self._heard.append((self._last, SESSION_REVOKED, families, who))
            self._news.notify_all()

    def _forget_old(self) -> None:
        horizon = time.time() - self.keep.total_seconds()
        for family, at in list(self._families.items()):
            if at < horizon:
                self._families.pop(family, None)
