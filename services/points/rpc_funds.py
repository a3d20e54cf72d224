"""Village funds and their settings, a worker's points, manual awards and deductions, and
the earning rules - the RPCs the village and town operators and the workers call."""

from __future__ import annotations

import uuid
from datetime import timedelta

from nameko.rpc import rpc

from contracts.caller import Caller
from contracts.errors import (
    AlreadyAwarded,
    Conflict,
    Forbidden,
    FundShort,
    IdempotencyConflict,
    InsufficientPoints,
    NotFound,
    ValidationFailed,
)
from contracts.points import FUND_TOPPED_UP, POINTS_AWARDED, POINTS_REVERSED, FundToppedUp
from services.points import expiry, rules
from services.points.base import OPERATORS, PointsBase, iso
from services.points.storage import rule_of
from services.points.transfer import (
    Transfer,
    fund,
    is_whole,
    issued,
    paid,
    shown_balance,
    wallet,
)

MAX_TOPUP = 10_000_000
MANUAL_ROLES = ("grid_leader", *OPERATORS)
SETTING_LIMITS = {
    "fen_per_point": (1, 100_000),
    "manual_threshold": (0, 100_000),
    "refund_days": (0, 90),
    "remind_days": (1, 365),
}


def _village(code: str) -> str:
    if not isinstance(code, str) or len(code) != 12 or not code.isdigit():
        raise ValidationFailed(details={"village": "a 12-digit village or community code"})
    return code


class FundRpc(PointsBase):
    # --- settings and top-ups -----------------------------------------------------------------
    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def village_settings(self, village: str, *, caller: Caller) -> dict:
        self._operator(caller, _village(village))
        return self._settings(village)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def set_village_settings(self, village: str, changes: dict, *, caller: Caller) -> dict:
        """Set {fen_per_point, expiry: {mode, days?}, manual_threshold, refund_days,
        remind_days}; each from now on (redemptions keep the rate they were made at)."""
        self._operator(caller, _village(village))
        problems: dict = {}
        clean: dict = {}
        for key, value in (changes or {}).items():
            if key == "expiry":
                found = expiry.check_policy(value if isinstance(value, dict) else {})
                if found:
                    problems["expiry"] = found
                else:
                    clean["expiry"] = {k: value[k] for k in ("mode", "days") if k in value}
            elif key in SETTING_LIMITS:
                low, high = SETTING_LIMITS[key]
                if not is_whole(value) or not low <= value <= high:
                    problems[key] = f"a whole number from {low} to {high}"
                else:
                    clean[key] = value
            else:
                problems[key] = "not a setting"
        if problems or not clean:
            raise ValidationFailed(details=problems or {"changes": "nothing to change"})
        clean.update({"updated_by": caller.actor, "updated_at": self._now()})
        self.store.put_village(village, clean)
        return self._settings(village)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed, IdempotencyConflict))
    def top_up(self, village: str, points: int, client_id: str, *, caller: Caller) -> dict:
        """The collective buys `points` for its fund at its rate: the only way points enter."""
        self._operator(caller, _village(village))
        if not is_whole(points) or not 0 < points <= MAX_TOPUP:
            raise ValidationFailed(details={"points": f"a whole number from 1 to {MAX_TOPUP}"})
        settings = self._settings(village)
        yuan_fen = points * int(settings["fen_per_point"])
        transfer = Transfer.build(
            "topup",
            f"topup:{caller.actor}:{client_id}",
            [(issued(village), -points), (fund(village), points)],
            cause={"kind": "topup", "ref": client_id, "by": caller.actor, "yuan_fen": yuan_fen},
            actor=caller.actor,
            at=self._now(),
            village=village,
        )

        def work(session):
            record = self._post(transfer, session)
            if not record.get("replayed"):
                payload = {
                    "transfer_id": record["_id"],
                    "village": village,
                    "amount": points,
                    "yuan_fen": record["cause"]["yuan_fen"],
                    "actor": caller.actor,
                    "at": iso(record["at"]),
                }
                self.outbox.record(session, FUND_TOPPED_UP, FundToppedUp().dump(payload))
            return record

        record = self.store.transaction(work)
        self.outbox.wake()
        return {"transfer_id": record["_id"], **self.fund_of(village, caller=caller)}

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def fund_of(self, village: str, *, caller: Caller) -> dict:
        """{village, fund, issued, paid, settings, topups: [...]} (points; fen)."""
        self._operator(caller, _village(village))
        names = [fund(village), issued(village), paid(village)]
        raw = self.store.balances(names)
        settings = self._settings(village)
        return {
            "village": village,
            "fund": raw[names[0]],
            "issued": shown_balance(names[1], raw[names[1]]),
            "paid": raw[names[2]],
            "fen_per_point": settings["fen_per_point"],
            "fund_yuan_fen": raw[names[0]] * int(settings["fen_per_point"]),
            "topups": [
                {
                    "transfer_id": t["_id"],
                    "points": t["postings"][1]["amount"]
                    if t["postings"][1]["account"].startswith("fund:")
                    else t["postings"][0]["amount"],
                    "yuan_fen": t["cause"].get("yuan_fen"),
                    "by": t["actor"],
                    "at": iso(t["at"]),
                }
                for t in self.store.recent_topups(village)
            ],
        }

    # --- a worker's own points ---------------------------------------------------------------
    @rpc
    def my_points(self, *, caller: Caller) -> dict:
        """{available, pending, wallets: [{village, available, pending}], expiring:
        [{expires_at, points}], history: [{at, amount, kind, cause, ...}]}."""
        user = caller.actor
        wallets = self.store.user_accounts(user, "wallet")
        holds = self.store.user_accounts(user, "pending")
        by_village: dict[str, dict] = {}
        for doc in wallets:
            by_village.setdefault(
                doc["village"], {"village": doc["village"], "available": 0, "pending": 0}
            )["available"] = doc["balance"]
        for doc in holds:
            by_village.setdefault(
                doc["village"], {"village": doc["village"], "available": 0, "pending": 0}
            )["pending"] = doc["balance"]
        now = self._now()
        expiring: dict[str, int] = {}
        history: list[dict] = []
        settings = self.store.village_settings(by_village)
        for doc in wallets + holds:
            entries = self.store.entries(doc["_id"], newest_first=False)
            if doc["kind"] == "wallet":
                policy = (settings.get(doc["village"]) or {}).get("expiry") or expiry.DEFAULT_POLICY
                held = expiry.lots([(e["at"], e["amount"]) for e in entries], policy)
                for when, points in expiry.upcoming(held, now, timedelta(days=366)):
                    expiring[iso(when)] = expiring.get(iso(when), 0) + points
            for e in entries[-30:]:
                history.append({"account": doc["kind"], "village": doc["village"], **_entry_out(e)})
        causes = self.store.transfers(h["transfer_id"] for h in history)
        for h in history:
            t = causes.get(h["transfer_id"]) or {}
            h["kind"] = t.get("kind")
            h["cause"] = _cause_out(t.get("cause") or {})
        history.sort(key=lambda h: (h["at"], h["transfer_id"]), reverse=True)
        return {
            "user_id": user,
            "available": sum(v["available"] for v in by_village.values()),
            "pending": sum(v["pending"] for v in by_village.values()),
            "wallets": [by_village[v] for v in sorted(by_village)],
            "expiring": [{"expires_at": k, "points": v} for k, v in sorted(expiring.items())],
            "history": history[:50],
        }

    # --- manual awards and deductions ----------------------------------------------------------
    @rpc(
        expected_exceptions=(
            Forbidden,
            NotFound,
            ValidationFailed,
            IdempotencyConflict,
            FundShort,
            InsufficientPoints,
            AlreadyAwarded,
        )
    )
    def request_manual(self, data: dict, client_id: str, *, caller: Caller) -> dict:
        """A grid leader awards or deducts points by hand, with a reason: {user_id,
        grid_code, points, direction: award|deduct, reason, category?, ref?}. Up to the
        village's threshold it applies at once; above it waits for a second person."""
        if not caller.has_role(*MANUAL_ROLES):
            raise Forbidden(details={"required_roles": list(MANUAL_ROLES)})
        problems = {}
        points = data.get("points")
        if not is_whole(points) or not 0 < points <= rules.MAX_POINTS:
            problems["points"] = f"a whole number from 1 to {rules.MAX_POINTS}"
        if data.get("direction") not in ("award", "deduct"):
            problems["direction"] = "award or deduct"
        if not str(data.get("reason") or "").strip():
            problems["reason"] = "say why"
        if data.get("category") is not None and data["category"] not in rules.CATEGORIES:
            problems["category"] = f"one of {', '.join(rules.CATEGORIES)}"
        grid_code = str(data.get("grid_code") or "")
        if len(grid_code) < 12 or not grid_code[:12].isdigit():
            problems["grid_code"] = "the worker's grid code"
        if not str(data.get("user_id") or "").strip():
            problems["user_id"] = "required"
        if problems:
            raise ValidationFailed(details=problems)
        caller.require_writable(grid_code, "grid_code")
        village = rules.village_of(grid_code)
        ref = data.get("ref")
        if ref and any(a["state"] != "reversed" for a in self.store.awards_for(str(ref))):
            raise AlreadyAwarded(details={"ref": ref})
        threshold = int(self._settings(village)["manual_threshold"])
        body = {
            k: data.get(k)
            for k in ("user_id", "grid_code", "points", "direction", "reason", "category", "ref")
        }

        def execute(session):
            now = self._now()
            doc = {
                "_id": uuid.uuid4().hex,
                **body,
                "reason": str(body["reason"]).strip(),
                "village": village,
                "requested_by": caller.actor,
                "state": "awaiting_approval" if points > threshold else "approved",
                "threshold": threshold,
                "at": now,
            }
            self.store.insert_manual(doc, session)
            if doc["state"] == "approved":
                doc = self._apply_manual(doc, None, session)
            return _manual_out(doc)

        result = self.store.run_command("manual", f"{caller.actor}:{client_id}", body, execute)
        self.outbox.wake()
        return result

    @rpc(
        expected_exceptions=(
            Forbidden,
            NotFound,
            ValidationFailed,
            Conflict,
            FundShort,
            InsufficientPoints,
        )
    )
    def decide_manual(
        self, request_id: str, approve: bool, note: str | None = None, *, caller: Caller
    ) -> dict:
        """A second person approves (the points move) or rejects a manual request."""
        found = self.store.manual(request_id)
        if found is None or not caller.covers(found["grid_code"]):
            raise NotFound(details={"request_id": request_id})
        if not caller.has_role(*MANUAL_ROLES):
            raise Forbidden(details={"required_roles": list(MANUAL_ROLES)})
        if caller.actor == found["requested_by"]:
            raise Forbidden(details={"approver": "someone other than the one who asked"})
        if found["state"] != "awaiting_approval":
            raise Conflict(details={"state": found["state"]})

        def work(session):
            decision = {"decided_by": caller.actor, "decided_at": self._now(), "note": note}
            if not approve:
                if not self.store.set_manual(
                    request_id, "awaiting_approval", {"state": "rejected", **decision}, session
                ):
                    raise Conflict(details={"request_id": request_id})
                return {**found, "state": "rejected", **decision}
            if not self.store.set_manual(
                request_id, "awaiting_approval", {"state": "approved", **decision}, session
            ):
                raise Conflict(details={"request_id": request_id})
            return self._apply_manual({**found, **decision}, caller.actor, session)

        result = self.store.transaction(work)
        self.outbox.wake()
        return _manual_out(result)

    def _apply_manual(self, doc: dict, approver: str | None, session) -> dict:
        village, user, points = doc["village"], doc["user_id"], doc["points"]
        award = doc["direction"] == "award"
        legs = [(fund(village), -points), (wallet(village, user), points)]
        transfer = Transfer.build(
            "manual",
            f"manual:{doc['_id']}",
            legs if award else [(a, -n) for a, n in legs],
            cause={
                "kind": "manual",
                "ref": doc["_id"],
                "requested_by": doc["requested_by"],
                "approved_by": approver,
                "reason": doc["reason"],
            },
            actor=approver or doc["requested_by"],
            at=self._now(),
            village=village,
        )
        record = self._post(transfer, session)
        self.store.insert_award(
            {
                "_id": record["_id"],
                "user": user,
                "village": village,
                "grid_code": doc["grid_code"],
                "amount": points if award else -points,
                "category": doc.get("category"),
                "rule_id": None,
                "rule_name": "人工奖励" if award else "人工扣减",
                "trigger": "manual",
                "ref_kind": "manual",
                "ref": doc.get("ref") or doc["_id"],
                "event_id": None,
                "state": "available",
                "settle_after": None,
                "earned_at": record["at"],
                "at": record["at"],
            },
            session,
        )
        self.store.set_manual(
            doc["_id"], "approved", {"state": "applied", "transfer_id": record["_id"]}, session
        )
        self._moved(
            session,
            POINTS_AWARDED if award else POINTS_REVERSED,
            record,
            user,
            village,
            amount=points,
            status="available" if award else "reversed",
            category=doc.get("category"),
            cause="manual",
            cause_ref=doc["_id"],
            reason=doc["reason"],
            actor=transfer.actor,
        )
        return {**doc, "state": "applied", "transfer_id": record["_id"]}

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def manual_requests(
        self, village: str, state: str | None = None, limit: int = 50, *, caller: Caller
    ) -> list:
        """A village's manual requests that lie in the caller's scopes. A grid leader's scope
        is usually one grid inside the village: they see that grid's requests (NotFound
        only when no scope of theirs reaches into the village)."""
        _village(village)
        if not (caller.covers(village) or any(s.startswith(village) for s in caller.scopes)):
            raise NotFound(details={"code": village})
        if not caller.has_role(*MANUAL_ROLES):
            raise Forbidden(details={"required_roles": list(MANUAL_ROLES)})
        found = self.store.manual_requests(village, state, max(1, min(int(limit), 200)))
        return [_manual_out(d) for d in found if caller.covers(d["grid_code"])]

    # --- earning rules ---------------------------------------------------------------------------
    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def create_rule(self, code: str, data: dict, *, caller: Caller) -> dict:
        """A town (9 digits) or village (12 digits) sets a rule, in force from valid_from."""
        if not isinstance(code, str) or len(code) not in (9, 12) or not code.isdigit():
            raise ValidationFailed(details={"code": "a 9-digit town or 12-digit village code"})
        self._operator(caller, code)
        now = self._now()
        data = _rule_input(data, now)
        problems = rules.check_rule(data, now)
        if problems:
            raise ValidationFailed(details=problems)
        rule = rules.new_rule(uuid.uuid4().hex[:12], code, data, caller.actor, now)
        self.store.transaction(lambda session: self.store.put_rule_version(rule, None, session))
        return _rule_out(rule.__dict__, now)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed, Conflict))
    def change_rule(self, rule_id: str, version: int, data: dict, *, caller: Caller) -> dict:
        """A new version of a rule from valid_from (now or later; never retroactive). The
        version the caller saw must still be the newest (else Conflict)."""
        doc = self.store.rule_current(rule_id)
        if doc is None or not caller.covers(doc["code"]):
            raise NotFound(details={"rule_id": rule_id})
        self._operator(caller, doc["code"])
        if doc["version"] != version:
            raise Conflict(details={"version": doc["version"]})
        current = rule_of(doc)
        now = self._now()
        merged = {k: getattr(current, k) for k in rules.EDITABLE} | _rule_input(data, now)
        if "valid_until" not in data:
            merged["valid_until"] = None
        problems = rules.check_rule(merged, now, current)
        if problems:
            raise ValidationFailed(details=problems)
        ended, new = rules.next_version(current, merged, caller.actor, now)
        self.store.transaction(lambda session: self.store.put_rule_version(new, ended, session))
        return _rule_out(new.__dict__, now)

    @rpc(expected_exceptions=(Forbidden, NotFound, ValidationFailed))
    def list_rules(self, code: str, *, caller: Caller) -> dict:
        """The rules a village lives under (its own and its town's), or a town's, every
        version, plus the categories and triggers to choose from."""
        caller.require_visible(code)
        now = self._now()
        docs = self.store.rules_over(code) if len(code) == 12 else self.store.rules_under(code)
        return {
            "rules": [_rule_out(d, now) for d in docs],
            "categories": rules.CATEGORIES,
            "triggers": {k: v[0] for k, v in rules.TRIGGERS.items()},
        }


def _rule_input(data: dict, now) -> dict:
    data = dict(data or {})
    for key in ("valid_from", "valid_until"):
        if isinstance(data.get(key), str):
            try:
                data[key] = rules.parse_time(data[key])
            except ValueError:
                data[key] = "bad"
    data.setdefault("valid_from", now)
    return data


def _rule_out(doc: dict, now) -> dict:
    rule = {k: v for k, v in doc.items() if k != "_id"}
    live = rule["valid_from"] <= now and (
        rule.get("valid_until") is None or now < rule["valid_until"]
    )
    state = "active" if live else ("scheduled" if rule["valid_from"] > now else "ended")
    for key in ("valid_from", "valid_until", "created_at"):
        rule[key] = iso(rule.get(key))
    return {
        **rule,
        "state": state,
        "category_zh": rules.CATEGORIES.get(rule["category"]),
        "trigger_zh": rules.TRIGGERS.get(rule["trigger"], ("",))[0],
    }


def _manual_out(doc: dict) -> dict:
    out = {k: v for k, v in doc.items() if k != "_id"}
    out["id"] = doc["_id"]
    for key in ("at", "decided_at"):
        if key in out:
            out[key] = iso(out[key])
    return out


def _entry_out(e: dict) -> dict:
    return {
        "transfer_id": e["transfer_id"],
        "amount": e["amount"],
        "balance": e["balance"],
        "at": iso(e["at"]),
    }


def _cause_out(cause: dict) -> dict:
    out = {
        k: v
        for k, v in cause.items()
        if k
        in (
            "kind",
            "trigger",
            "category",
            "reason",
            "ref_kind",
            "ref_id",
            "approved_by",
            "requested_by",
        )
    }
    if "trigger" in out:
        out["trigger_zh"] = rules.TRIGGERS.get(out["trigger"], ("",))[0]
    if "category" in out:
        out["category_zh"] = rules.CATEGORIES.get(out["category"])
    return out
