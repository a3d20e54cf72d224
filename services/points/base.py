"""What every part of the points service shares: its dependencies, the clock, the one way
a transfer is posted with its event, and the scope checks."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from contracts.caller import Caller
from contracts.errors import Forbidden, FundShort, InsufficientPoints, NotFound
from contracts.points import PointsMoved
from services.kit.clock import Clock, ClockProvider, to_ms
from services.kit.consumer import EventInbox
from services.kit.outbox import OutboxWriter
from services.kit.relay import BulkMarkOutbox
from services.kit.rpc import TimedRpcProxy
from services.points.storage import PointsStorage, PointsStore
from services.points.transfer import Overdraft, Transfer, parse_account, shown_balance

SERVICE = "points"
ACTOR = f"service:{SERVICE}"
# village and town operators: they set rules, top up funds, run supermarkets and statements
OPERATORS = ("community_admin", "town_admin", "county_admin", "operator")
DEFAULT_SETTINGS = {
    "fen_per_point": 10,  # 1 point = 0.10 yuan unless the collective sets its rate
    "expiry": {"mode": "never"},
    "manual_threshold": 50,  # manual awards above this need a second person
    "refund_days": 7,
    "remind_days": 30,
}


def token_key(config: dict | None = None) -> bytes:
    """The redemption tokens' signing key: POINTS_TOKEN_KEY, else one made once under the
    data folder (like the JWT secret), so tokens survive restarts."""
    value = (config or {}).get("POINTS_TOKEN_KEY") or os.environ.get("POINTS_TOKEN_KEY")
    if value:
        return value.encode()
    data = Path(os.environ.get("LIANXIN_DATA") or Path(__file__).resolve().parents[2] / "var")
    path = data / "points-token-key"
    if not path.exists():
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


class PointsBase:
    """Dependencies and shared internals; the RPCs and handlers live in the mixins."""

    name = SERVICE
    store: PointsStore = PointsStorage()
    outbox: OutboxWriter = BulkMarkOutbox(SERVICE)  # a burst of awards: marks in bulk
    inbox = EventInbox(SERVICE)
    clock: Clock = ClockProvider()
    grid = TimedRpcProxy("grid")
    config = Config()

    @rpc
    def health(self) -> dict:
        self.store.ping()
        return {"service": self.name, "ok": True}

    def _now(self) -> datetime:
        return to_ms(self.clock.now())

    def _settings(self, village: str, session=None) -> dict:
        doc = self.store.village(village, session=session) or {}
        return {
            **DEFAULT_SETTINGS,
            **{k: v for k, v in doc.items() if k != "_id"},
            "village": village,
        }

    # --- posting -------------------------------------------------------------------------
    def _post(self, transfer: Transfer, session) -> dict:
        """Append a transfer; an overdraft becomes the named error a person understands."""
        try:
            return self.store.append_transfer(transfer, session)
        except Overdraft as exc:
            kind = parse_account(exc.account).kind
            details = {"account": exc.account, "available": exc.balance, "needed": -exc.amount}
            if kind == "fund":
                raise FundShort(details=details) from exc
            raise InsufficientPoints(details=details) from exc

    def _moved(
        self, session, event_type: str, record: dict, user: str, village: str, **extra
    ) -> None:
        """Record a points_* event about a worker's points (schema-built)."""
        payload = self._moved_payload(record, user, village, **extra)
        self.outbox.record(session, event_type, payload)

    def _moved_payload(self, record: dict, user: str, village: str, **extra) -> dict:
        """The payload of a points_* event (batches record many with `record_many`)."""
        wallet = f"wallet:{village}:{user}"
        balance = (record.get("balances") or {}).get(wallet)
        payload = {
            "transfer_id": record.get("_id"),
            "user_id": user,
            "village": village,
            "amount": extra.pop("amount"),
            "status": extra.pop("status"),
            "category": extra.pop("category", None),
            "cause": extra.pop("cause"),
            "cause_ref": extra.pop("cause_ref", None),
            "reason": extra.pop("reason", None),
            "balance": shown_balance(wallet, balance) if balance is not None else None,
            "actor": extra.pop("actor", ACTOR),
            "at": iso(record.get("at")) or iso(self._now()),
        }
        return PointsMoved().dump(payload)

    # --- who may do what -----------------------------------------------------------------
    @staticmethod
    def _operator(caller: Caller, code: str) -> None:
        """Operators of the village or town (or above) that covers `code`."""
        if not (caller.is_trusted or caller.has_role(*OPERATORS)):
            raise Forbidden(details={"required_roles": list(OPERATORS)})
        caller.require_visible(code)

    def _shop_for_staff(self, shop_id: str, caller: Caller, session=None) -> dict:
        """The supermarket, if the caller works its till (or operates its area)."""
        shop = self.store.shop(shop_id, session=session)
        if shop is None:
            raise NotFound(details={"shop_id": shop_id})
        if caller.is_trusted or caller.actor in shop.get("staff", []):
            return shop
        if caller.has_role(*OPERATORS) and caller.covers(shop["code"]):
            return shop
        raise NotFound(details={"shop_id": shop_id})
