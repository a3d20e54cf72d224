"""Partner supermarkets, their goods, redemption tokens, redemption at the till, refunds.

A redemption is one transaction: the token is marked used, the worker's points move to
the supermarket's account (one posting pair per village whose points pay), the stock
drops, the month's per-person tally grows, the receipt is written and the event recorded.
Any refusal (token used, basket over balance, stock or limit) aborts all of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from nameko.rpc import rpc

from contracts.caller import Caller
from contracts.errors import (
    Conflict,
    Forbidden,
    InsufficientPoints,
    NotFound,
    OutOfStock,
    OverLimit,
    PeriodClosed,
    RefundWindowPassed,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
    ValidationFailed,
)
from contracts.points import POINTS_REDEEMED, POINTS_REFUNDED, Redemption
from services.points import redemption as till
from services.points import settlement
from services.points.base import OPERATORS, PointsBase, iso, token_key
from services.points.storage import transfer_of
from services.points.transfer import Transfer, is_whole, shop, wallet

TOKEN_TTL = timedelta(hours=24)
PACK_MAX = 10
EARNERS = ("grid_worker", "grid_leader", "instructor")
REFUSED = {
    "bad_basket": ValidationFailed,
    "out_of_stock": OutOfStock,
    "over_limit": OverLimit,
    "insufficient_points": InsufficientPoints,
}
TILL_ERRORS = (
    Forbidden,
    NotFound,
    ValidationFailed,
    TokenInvalid,
    TokenExpired,
    TokenUsed,
    InsufficientPoints,
    OutOfStock,
    OverLimit,
    Conflict,
)


def _code(code: str) -> str:
    if not isinstance(code, str) or len(code) not in (9, 12) or not code.isdigit():
        raise ValidationFailed(
            details={"code": "the 9-digit town or 12-digit village it belongs to"}
        )
    return code


def _item_fields(data: dict, partial: bool = False) -> dict:
    problems, clean = {}, {}
    checks = {
        "name": lambda v: isinstance(v, str) and 0 < len(v.strip()) <= 40,
        "price": lambda v: is_whole(v) and 0 < v <= 100_000,
        "stock": lambda v: is_whole(v) and 0 <= v <= 1_000_000,
        "per_person_limit": lambda v: v is None or (is_whole(v) and 1 <= v <= 1000),
        "active": lambda v: isinstance(v, bool),
        "unit": lambda v: v is None or (isinstance(v, str) and len(v) <= 8),
    }
    for key, ok in checks.items():
        if key not in data:
            if not partial and key in ("name", "price", "stock"):
                problems[key] = "required"
            continue
        if not ok(data[key]):
            problems[key] = "not valid"
        else:
            clean[key] = data[key].strip() if key == "name" else data[key]
    unknown = set(data) - set(checks) - {"version"}
    for key in unknown:
        problems[key] = "unknown field"
    if problems:
        raise ValidationFailed(details=problems)
    return clean


class ShopRpc(PointsBase):
    # --- supermarkets and goods (operators) ----------------------------------------------------
    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def create_shop(self, data: dict, *, caller: Caller) -> dict:
        """{name, code (village or town), staff: [user ids], address?, refund_days?}"""
        code = _code(data.get("code"))
        self._operator(caller, code)
        name = str(data.get("name") or "").strip()
        staff = data.get("staff") or []
        if not 0 < len(name) <= 40:
            raise ValidationFailed(details={"name": "1 to 40 characters"})
        if not isinstance(staff, list) or not all(isinstance(s, str) and s for s in staff):
            raise ValidationFailed(details={"staff": "a list of user ids"})
        doc = {
            "_id": uuid.uuid4().hex[:16],
            "name": name,
            "code": code,
            "staff": sorted(set(staff)),
            "address": str(data.get("address") or "")[:100],
            "version": 1,
            "created_by": caller.actor,
            "created_at": self._now(),
        }
        self.store.insert_shop(doc)
        return _shop_out(doc)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed, Conflict))
    def update_shop(self, shop_id: str, version: int, changes: dict, *, caller: Caller) -> dict:
        found = self.store.shop(shop_id)
        if found is None or not caller.covers(found["code"]):
            raise NotFound(details={"shop_id": shop_id})
        self._operator(caller, found["code"])
        clean = {}
        if "name" in changes:
            clean["name"] = str(changes["name"] or "").strip()[:40]
        if "address" in changes:
            clean["address"] = str(changes["address"] or "")[:100]
        if "staff" in changes:
            staff = changes["staff"]
            if not isinstance(staff, list) or not all(isinstance(s, str) and s for s in staff):
                raise ValidationFailed(details={"staff": "a list of user ids"})
            clean["staff"] = sorted(set(staff))
        if not clean or clean.get("name") == "":
            raise ValidationFailed(details={"changes": "name, address or staff"})
        doc = self.store.update_shop(shop_id, version, clean)
        if doc is None:
            raise Conflict(details={"version": found["version"]})
        return _shop_out(doc)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def list_shops(self, code: str | None = None, *, caller: Caller) -> list:
        """Supermarkets a person may see: staff their own; workers those serving their
        villages; operators those in their area."""
        if caller.has_role("merchant_staff") and not caller.has_role(*OPERATORS):
            return [_shop_out(d) for d in self.store.shops_of_staff(caller.actor)]
        if code:
            caller.require_visible(code[:9]) if len(code) >= 9 and not caller.covers(code) else None
        if caller.has_role(*OPERATORS):
            return [_shop_out(d) for d in self.store.shops_under(caller.prefixes(code))]
        villages = {w["village"] for w in self.store.user_accounts(caller.actor, "wallet")}
        villages |= {p[:12] for p in caller.scopes if len(p) >= 12}
        found: dict[str, dict] = {}
        for village in sorted(villages):
            for d in self.store.shops_serving(village):
                found[d["_id"]] = d
        return [_shop_out(d) for d in found.values()]

    @rpc(expected_exceptions=(Forbidden, NotFound))
    def shop_items(self, shop_id: str, *, caller: Caller) -> list:  # noqa: ARG002
        """The catalogue (anyone who may see the supermarket). `caller` is taken as every
        RPC acting for a person takes it; the catalogue is the same for all."""
        found = self.store.shop(shop_id)
        if found is None:
            raise NotFound(details={"shop_id": shop_id})
        return [_item_out(d) for d in self.store.items_of(shop_id)]

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def add_item(self, shop_id: str, data: dict, *, caller: Caller) -> dict:
        found = self._shop_for_staff(shop_id, caller)
        clean = _item_fields(data)
        doc = {
            "_id": uuid.uuid4().hex[:16],
            "shop_id": found["_id"],
            "active": True,
            "per_person_limit": None,
            "unit": None,
            **clean,
            "version": 1,
            "updated_by": caller.actor,
            "updated_at": self._now(),
        }
        self.store.insert_item(doc)
        return _item_out(doc)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed, Conflict))
    def update_item(self, item_id: str, version: int, changes: dict, *, caller: Caller) -> dict:
        found = self.store.item(item_id)
        if found is None:
            raise NotFound(details={"item_id": item_id})
        self._shop_for_staff(found["shop_id"], caller)
        clean = _item_fields(changes, partial=True)
        if not clean:
            raise ValidationFailed(details={"changes": "nothing to change"})
        doc = self.store.update_item(
            item_id, version, {**clean, "updated_by": caller.actor, "updated_at": self._now()}
        )
        if doc is None:
            raise Conflict(details={"version": found["version"]})
        return _item_out(doc)

    # --- tokens (the worker's phone, online) ------------------------------------------------------
    @rpc(expected_exceptions=(Forbidden, ValidationFailed))
    def issue_tokens(self, count: int = 5, name: str = "", *, caller: Caller) -> dict:
        """The worker's pack of single-use redemption codes, to show later (offline if need
        be): every live unused code, topped up with new ones to `count`. The phone keeps
        the answer and replaces its pack with it, so used and expired codes fall away and
        unused ones are not made again. {tokens: [{token, code, expires_at}], ttl_seconds}"""
        if not caller.has_role(*EARNERS):
            raise Forbidden(details={"required_roles": list(EARNERS)})
        if not is_whole(count) or not 1 <= count <= PACK_MAX:
            raise ValidationFailed(details={"count": f"1 to {PACK_MAX}"})
        now = self._now()
        key = token_key(self.config)
        live = self.store.live_tokens(caller.actor, now)
        expires = (now + TOKEN_TTL).replace(microsecond=0)
        while len(live) < count:
            doc = {
                "_id": till.new_token_id(),
                "user": caller.actor,
                "name": str(name or "")[:40],
                "code": till.new_short_code(),
                "expires_at": expires,
                "issued_at": now,
                "used_at": None,
            }
            if self.store.insert_token(doc):  # a taken short code: draw another
                live.append(doc)
        tokens = [
            {
                "token": till.make_token(key, d["user"], d["_id"], d["expires_at"]),
                "code": d["code"],
                "expires_at": iso(d["expires_at"]),
            }
            for d in sorted(live, key=lambda d: d["expires_at"])
        ]
        return {"tokens": tokens, "ttl_seconds": int(TOKEN_TTL.total_seconds())}

    def _resolve(self, presented: dict, session=None) -> dict:
        """The stored token a QR text or a short code names; the right error otherwise."""
        now = self._now()
        text, code = presented.get("token"), presented.get("code")
        if text:
            try:
                claims = till.read_token(token_key(self.config), text, now)
            except till.TokenRejected as exc:
                if exc.reason == "expired":
                    raise TokenExpired() from exc
                raise TokenInvalid(details={"reason": exc.reason}) from exc
            doc = self.store.token(claims.token_id, session=session)
            if doc is None or doc["user"] != claims.user:
                raise TokenInvalid(details={"reason": "unknown"})
        else:
            digits = till.normalise_code(code)
            doc = self.store.token_by_code(digits, session=session) if digits else None
            if doc is None:
                raise TokenInvalid(details={"reason": "unknown"})
            if doc["expires_at"] <= now:
                raise TokenExpired()
        return doc

    # --- the till ------------------------------------------------------------------------------
    @rpc(expected_exceptions=TILL_ERRORS)
    def till_lookup(self, shop_id: str, presented: dict, *, caller: Caller) -> dict:
        """What the cashier sees after scanning: who, how many points here, the goods
        with what this person may still take of each this month."""
        found = self._shop_for_staff(shop_id, caller)
        token = self._resolve(presented)
        if token.get("used_at") is not None:
            raise TokenUsed(details={"redemption_id": token.get("redemption_id")})
        wallets = self.store.user_accounts(token["user"], "wallet", found["code"])
        month = settlement.month_of(self._now())
        taken = self.store.month_taken(token["user"], shop_id, month)
        items = []
        for item in self.store.items_of(shop_id):
            out = _item_out(item)
            limit = item.get("per_person_limit")
            out["may_take"] = None if limit is None else max(0, limit - taken.get(item["_id"], 0))
            items.append(out)
        return {
            "token_id": token["_id"],
            "user_id": token["user"],
            "name": token.get("name") or "",
            "available": sum(w["balance"] for w in wallets),
            "expires_at": iso(token["expires_at"]),
            "shop": _shop_out(found),
            "items": items,
        }

    @rpc(expected_exceptions=TILL_ERRORS)
    def redeem(self, shop_id: str, presented: dict, items: list, *, caller: Caller) -> dict:
        """Redeem a basket [{item_id, qty}] with a token or short code; answers the receipt.
        The same token with the same basket answers the first receipt again (a retried
        confirm); with another basket it is TokenUsed."""
        found = self._shop_for_staff(shop_id, caller)
        if not isinstance(items, list):
            raise ValidationFailed(details={"items": "a list of {item_id, qty}"})
        basket_key = sorted(
            (str(i.get("item_id")), i.get("qty")) for i in items if isinstance(i, dict)
        )

        def work(session):
            token = self._resolve(presented, session)
            user, token_id = token["user"], token["_id"]
            if token.get("used_at") is not None:
                first = self.store.redemption(token_id, session=session)
                if (
                    first
                    and first["shop_id"] == shop_id
                    and first["basket_key"] == [list(x) for x in basket_key]
                ):
                    return first
                raise TokenUsed(details={"redemption_id": token_id})
            now = self._now()
            month = settlement.month_of(now)
            wanted_ids = [str(i.get("item_id")) for i in items if isinstance(i, dict)]
            catalogue = {
                d["_id"]: d for d in self.store.items_of(shop_id, wanted_ids, session=session)
            }
            # only goods with a per-person limit keep a monthly tally (one read, one write less
            # for the usual basket)
            limited = any(d.get("per_person_limit") is not None for d in catalogue.values())
            taken = self.store.month_taken(user, shop_id, month, session) if limited else {}
            try:
                basket = till.price_basket(
                    [i if isinstance(i, dict) else {} for i in items], catalogue, taken
                )
                wallets = self.store.user_accounts(user, "wallet", found["code"], session)
                parts = till.split_spend(
                    basket.total, [(w["village"], w["balance"]) for w in wallets]
                )
            except till.BasketRefused as exc:
                raise REFUSED[exc.code](details=exc.problems) from exc
            rates = self.store.village_settings([v for v, _ in parts], session)
            legs = []
            for village, points in parts:
                legs += [(wallet(village, user), -points), (shop(shop_id, village), points)]
            transfer = Transfer.build(
                "redeem",
                f"redeem:{token_id}",
                legs,
                cause={
                    "kind": "redemption",
                    "ref": token_id,
                    "shop": shop_id,
                    "cashier": caller.actor,
                },
                actor=caller.actor,
                at=now,
                village=parts[0][0],
            )
            record = self._post(transfer, session)
            for line in basket.lines:
                if not self.store.take_stock(line.item_id, line.qty, session):
                    raise OutOfStock(details={line.item_id: {"name": line.name}})
            tally = {
                ln.item_id: ln.qty
                for ln in basket.lines
                if catalogue[ln.item_id].get("per_person_limit") is not None
            }
            if tally:
                self.store.add_month_taken(user, shop_id, month, tally, session)
            if not self.store.use_token(token_id, token_id, now, session):
                raise TokenUsed(details={"redemption_id": token_id})
            balance = sum(w["balance"] for w in wallets) - basket.total
            doc = {
                "_id": token_id,
                "transfer_id": record["_id"],
                "shop_id": shop_id,
                "shop_name": found["name"],
                "shop_code": found["code"],
                "cashier": caller.actor,
                "user": user,
                "name": token.get("name") or "",
                "lines": [{**ln.__dict__, "points": ln.points} for ln in basket.lines],
                "basket_key": [list(x) for x in basket_key],
                "total": basket.total,
                "items": basket.items,
                "parts": [
                    {
                        "village": v,
                        "points": p,
                        "fen_per_point": int(
                            (rates.get(v) or {}).get(
                                "fen_per_point", self._settings(v)["fen_per_point"]
                            )
                        ),
                    }
                    for v, p in parts
                ],
                "villages": [v for v, _ in parts],
                "balance_after": balance,
                "state": "redeemed",
                "tallied": tally,
                "month": month,
                "at": now,
            }
            self.store.insert_redemption(doc, session)
            self._redemption_event(session, POINTS_REDEEMED, doc, caller.actor, now)
            return doc

        doc = self.store.transaction(work)
        self.outbox.wake()
        return _receipt(doc)

    def _redemption_event(
        self, session, event_type: str, doc: dict, actor: str, at: datetime
    ) -> None:
        payload = {
            "redemption_id": doc["_id"],
            "transfer_id": doc["transfer_id"]
            if event_type == POINTS_REDEEMED
            else doc["refund"]["transfer_id"],
            "user_id": doc["user"],
            "supermarket_id": doc["shop_id"],
            "supermarket_name": doc["shop_name"],
            "village": doc["villages"][0],
            "amount": doc["total"],
            "items": doc["items"],
            "balance": doc.get("balance_after"),
            "actor": actor,
            "at": at.isoformat(),
        }
        self.outbox.record(session, event_type, Redemption().dump(payload))

    @rpc(
        expected_exceptions=(
            Forbidden,
            NotFound,
            Conflict,
            PeriodClosed,
            RefundWindowPassed,
            ValidationFailed,
        )
    )
    def refund(self, redemption_id: str, reason: str, *, caller: Caller) -> dict:
        """Refund a whole redemption within the refund window: a reversing transfer, the
        stock back, the month's tally down. Not once its month is settled."""
        found = self.store.redemption(redemption_id)
        if found is None:
            raise NotFound(details={"redemption_id": redemption_id})
        shop_doc = self._shop_for_staff(found["shop_id"], caller)
        if not str(reason or "").strip():
            raise ValidationFailed(details={"reason": "say why"})
        if found["state"] != "redeemed":
            raise Conflict(details={"state": found["state"]})
        now = self._now()
        days = int(self._settings(found["villages"][0])["refund_days"])
        if now - found["at"] > timedelta(days=days):
            raise RefundWindowPassed(details={"days": days})
        if self.store.statement(found["shop_id"], found["month"]) is not None:
            raise PeriodClosed(details={"period": found["month"]})

        def work(session):
            original = self.store.transfer(found["transfer_id"], session)
            reversal = transfer_of(original).reversal(
                f"refund:{redemption_id}",
                cause={
                    "kind": "refund",
                    "ref": redemption_id,
                    "reason": str(reason).strip()[:200],
                    "by": caller.actor,
                },
                actor=caller.actor,
                at=now,
            )
            record = self._post(reversal, session)
            for line in found["lines"]:
                self.store.return_stock(line["item_id"], line["qty"], session)
            tallied = found.get("tallied") or {}
            if tallied:
                back = {item: -qty for item, qty in tallied.items()}
                self.store.add_month_taken(
                    found["user"], found["shop_id"], found["month"], back, session
                )
            refund = {
                "transfer_id": record["_id"],
                "by": caller.actor,
                "reason": str(reason).strip()[:200],
                "at": now,
            }
            if not self.store.set_redemption(
                redemption_id, "redeemed", {"state": "refunded", "refund": refund}, session
            ):
                raise Conflict(details={"state": "refunded"})
            doc = {**found, "state": "refunded", "refund": refund}
            doc["balance_after"] = sum(
                w["balance"]
                for w in self.store.user_accounts(
                    found["user"], "wallet", shop_doc["code"], session
                )
            )
            self._redemption_event(session, POINTS_REFUNDED, doc, caller.actor, now)
            return doc

        doc = self.store.transaction(work)
        self.outbox.wake()
        return _receipt(doc)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def shop_redemptions(self, shop_id: str, day: str | None = None, *, caller: Caller) -> dict:
        """A supermarket's redemptions of one day (Beijing date, default today)."""
        self._shop_for_staff(shop_id, caller)
        start, end = _day_bounds(day, self._now())
        found = self.store.redemptions_of_shop(shop_id, start, end)
        standing = [d for d in found if d["state"] == "redeemed"]
        return {
            "day": start.astimezone(settlement.SHANGHAI).date().isoformat(),
            "count": len(standing),
            "points": sum(d["total"] for d in standing),
            "redemptions": [_receipt(d) for d in found],
        }

    @rpc
    def my_receipts(self, limit: int = 30, *, caller: Caller) -> list:
        return [
            _receipt(d)
            for d in self.store.redemptions_of_user(caller.actor, max(1, min(int(limit), 100)))
        ]


def _day_bounds(day: str | None, now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(settlement.SHANGHAI)
    if day:
        try:
            local = datetime.fromisoformat(str(day)).replace(tzinfo=settlement.SHANGHAI)
        except ValueError as exc:
            raise ValidationFailed(details={"day": "YYYY-MM-DD"}) from exc
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _shop_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "code": doc["code"],
        "address": doc.get("address") or "",
        "staff": list(doc.get("staff") or []),
        "version": doc.get("version", 1),
    }


def _item_out(doc: dict) -> dict:
    return {
        "id": doc["_id"],
        "shop_id": doc["shop_id"],
        "name": doc["name"],
        "price": doc["price"],
        "stock": doc["stock"],
        "per_person_limit": doc.get("per_person_limit"),
        "unit": doc.get("unit"),
        "active": doc.get("active", True),
        "version": doc.get("version", 1),
    }


def _receipt(doc: dict) -> dict:
    refund = doc.get("refund")
    return {
        "id": doc["_id"],
        "transfer_id": doc["transfer_id"],
        "shop_id": doc["shop_id"],
        "shop_name": doc["shop_name"],
        "cashier": doc["cashier"],
        "user_id": doc["user"],
        "name": doc.get("name") or "",
        "lines": [
            {k: ln[k] for k in ("item_id", "name", "price", "qty", "points")} for ln in doc["lines"]
        ],
        "total": doc["total"],
        "items": doc["items"],
        "balance_after": doc.get("balance_after"),
        "state": doc["state"],
        "at": iso(doc["at"]),
        "refund": {**refund, "at": iso(refund["at"])} if refund else None,
    }
