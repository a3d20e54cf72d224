"""Points from real work: the grid's and the cases' events, each applied once.

The worked example of a consuming service (DESIGN §8): every handler is a
`@consumes(source, event)` method whose body runs inside `Inbox.once`, in the same
transaction as the transfers it posts, the award records it writes and the events it
records. A handler killed half-way leaves nothing behind; the event comes again and is
applied then, once.

An award that cannot be made (a rule not in force when the work was done, a fund too
short, a cap reached, nobody to pay) is recorded as refused with why, in the same
transaction, for the village operator to see and retry after a top-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from nameko.rpc import rpc
from nameko.timer import timer

from contracts.caller import Caller
from contracts.cases import (
    CASE_CLOSED,
    CASE_EVALUATED,
    CASE_HANDLED,
    CASE_REGISTERED,
    CASE_REOPENED,
    CASE_RETURNED,
)
from contracts.errors import AlreadyAwarded, Forbidden, FundShort, NotFound
from contracts.grid import VISIT_LOGGED, VISIT_VOIDED
from contracts.points import (
    POINTS_AWARDED,
    POINTS_EXPIRED,
    POINTS_EXPIRING,
    POINTS_REFUSED,
    POINTS_REVERSED,
    POINTS_SETTLED,
    PointsExpiring,
)
from services.kit.batching import consumes_batched
from services.kit.consumer import DeadLetterMixin, consumes
from services.points import expiry, rules
from services.points.base import ACTOR, PointsBase, iso
from services.points.rules import Fact, Rule
from services.points.storage import transfer_of
from services.points.transfer import (
    Overdraft,
    Transfer,
    expired,
    fund,
    parse_account,
    pending,
    wallet,
)

SWEEP_SECONDS = 300
# Reversals of points the worker has already spent cannot be taken back: the operator
# sees them as refused and settles them by hand (a manual deduction).
REASONS = {
    "rule_inactive": "积分规则在该工作发生时未生效",
    "fund_short": "村集体积分资金不足",
    "cap_reached": "已达该规则的每日或每期上限",
    "no_recipient": "事件未指明应得积分的人",
    "reversal_short": "积分已被使用，无法自动扣回",
}


def fact_doc(fact: Fact) -> dict:
    return {
        "trigger": fact.trigger,
        "event_id": fact.event_id,
        "user": fact.user,
        "grid_code": fact.grid_code,
        "at": fact.at,
        "ref_kind": fact.ref_kind,
        "ref": fact.ref,
        "attrs": dict(fact.attrs),
    }


def fact_of(doc: dict) -> Fact:
    return Fact(
        doc["trigger"],
        doc["event_id"],
        doc.get("user"),
        doc["grid_code"],
        doc["at"],
        doc["ref_kind"],
        doc["ref"],
        doc.get("attrs") or {},
    )


def award_transfer(fact: Fact, rule: Rule, points: int, now: datetime) -> tuple[bool, Transfer]:
    """The transfer that pays `points` for `fact` under `rule` (one event or a batch):
    fund → the worker's wallet, or → their pending account while the work awaits
    verification (a handled case, or a rule with a hold). Answers (held, transfer)."""
    held = fact.trigger == "case_handled" or rule.hold_days > 0
    target = pending(fact.village, fact.user) if held else wallet(fact.village, fact.user)
    transfer = Transfer.build(
        "award",
        fact.key,
        [(fund(fact.village), -points), (target, points)],
        cause={
            "kind": "event",
            "ref": fact.event_id,
            "trigger": fact.trigger,
            "rule": rule.rule_id,
            "rule_version": rule.version,
            "category": rule.category,
            "ref_kind": fact.ref_kind,
            "ref_id": fact.ref,
        },
        actor=ACTOR,
        at=now,
        village=fact.village,
    )
    return held, transfer


def award_doc(
    transfer_id: str,
    fact: Fact,
    rule: Rule,
    points: int,
    held: bool,
    tallied: tuple[str, str] | None,
    now: datetime,
) -> dict:
    """The award record beside its transfer (one event or a batch): what was paid, for
    what, under which rule; pending until `settle_after` when held; `tallied` is the
    (period, day) a capped rule counted it in, so a reversal can give the tally back."""
    return {
        "_id": transfer_id,
        "user": fact.user,
        "village": fact.village,
        "grid_code": fact.grid_code,
        "amount": points,
        "category": rule.category,
        "rule_id": rule.rule_id,
        "rule_name": rule.name,
        "trigger": fact.trigger,
        "ref_kind": fact.ref_kind,
        "ref": fact.ref,
        "event_id": fact.event_id,
        "state": "pending" if held else "available",
        "settle_after": fact.at + timedelta(days=rule.hold_days) if rule.hold_days else None,
        "usage": (
            {"rule_id": rule.rule_id, "period": tallied[0], "day": tallied[1]} if tallied else None
        ),
        "earned_at": fact.at,
        "at": now,
    }


class AwardConsumers(DeadLetterMixin, PointsBase):
    # --- the grid --------------------------------------------------------------------------
    @consumes_batched("grid", VISIT_LOGGED, batch="_award_events")
    def on_visit_logged(self, event, session):
        self._award_facts(event, session)

    @consumes("grid", VISIT_VOIDED)
    def on_visit_voided(self, event, session):
        payload = event["payload"]
        self._reverse_awards(payload["visit_id"], None, payload.get("reason"), session)

    # --- the cases -------------------------------------------------------------------------
    @consumes("cases", CASE_REGISTERED)
    def on_case_registered(self, event, session):
        self._award_facts(event, session)

    @consumes("cases", CASE_HANDLED)
    def on_case_handled(self, event, session):
        self._award_facts(event, session)

    @consumes("cases", CASE_CLOSED)
    def on_case_closed(self, event, session):
        # the handling is verified: its pending points become available, then the
        # closing itself may earn (closed, closed on time)
        case_id = event["payload"]["case_id"]
        for award in self.store.awards_for(case_id, session=session):
            if award["state"] == "pending" and award["trigger"] == "case_handled":
                self._settle(award, session)
        self._award_facts(event, session)

    @consumes("cases", CASE_RETURNED)
    def on_case_returned(self, event, session):
        payload = event["payload"]
        self._reverse_awards(payload["case_id"], {"case_handled"}, payload.get("reason"), session)

    @consumes("cases", CASE_REOPENED)
    def on_case_reopened(self, event, session):
        payload = event["payload"]
        handling = {"case_handled", "case_closed", "case_closed_on_time", "case_evaluated_good"}
        self._reverse_awards(payload["case_id"], handling, payload.get("reason"), session)

    @consumes("cases", CASE_EVALUATED)
    def on_case_evaluated(self, event, session):
        self._award_facts(event, session)

    # --- awarding --------------------------------------------------------------------------
    def _award_facts(self, event: dict, session) -> None:
        for fact in rules.facts_of_event(event["type"], event["id"], event["payload"]):
            outcome, _ = self._award(fact, session)
            if outcome not in ("awarded", "ignored", "repeat"):
                self._refuse(fact, outcome, session)

    def _award(self, fact: Fact, session) -> tuple[str, dict | None]:
        """Pay for `fact` by the rule in force when it happened: ('awarded', award),
        ('ignored', None) where no rule covers it, ('repeat', record) when its key was
        already paid, or (reason, None) when it cannot be paid."""
        rule, why = rules.choose_rule(
            self.store.rules_for(fact.trigger, fact.village, session), fact
        )
        if rule is None:
            return why or "ignored", None
        if not fact.user:
            return "no_recipient", None
        period = rules.period_key(rule.period, fact.at)
        day = rules.day_key(fact.at)
        capped = rule.daily_cap is not None or rule.period_cap is not None
        # caps keep a tally per worker and period; a rule without caps needs none
        used = self.store.usage_of(rule.rule_id, fact.user, period, session) if capped else {}
        points = rules.capped(rule, used.get("days", {}).get(day, 0), used.get("total", 0))
        if points <= 0:
            return "cap_reached", None
        now = self._now()
        held, transfer = award_transfer(fact, rule, points, now)
        try:
            record = self._post(transfer, session)
        except FundShort:
            return "fund_short", None
        if record.get("replayed"):  # this work was paid already (a retried refusal, say)
            return "repeat", record
        if capped:
            self.store.add_usage(rule.rule_id, fact.user, period, day, points, session)
        award = award_doc(
            record["_id"], fact, rule, points, held, (period, day) if capped else None, now
        )
        self.store.insert_award(award, session)
        self._award_posted(award, session)
        self.outbox.record(session, POINTS_AWARDED, self._awarded_payload(record, award))
        return "awarded", award

    def _award_events(self, events: list[dict], session) -> None:
        """`_award_facts` for a batch of events in one transaction (the kit's
        `consumes_batched`): the rules of every village read at once, the transfers
        appended together (each account moved once, its hash chain carried on in memory),
        the award records, cap tallies and events written in one go each. The outcome of
        each fact is what `_award` would have said; a batch that cannot promise that (a fund
        ran short where a capped rule also paid) raises, and its events are applied one by
        one instead."""
        facts = [f for e in events for f in rules.facts_of_event(e["type"], e["id"], e["payload"])]
        outcomes: dict[int, str] = {}
        villages: dict[str, set[str]] = {}
        for fact in facts:
            villages.setdefault(fact.trigger, set()).add(fact.village)
        rule_sets = {
            trigger: self.store.rules_for_villages(trigger, codes, session)
            for trigger, codes in villages.items()
        }
        chosen = []
        for i, fact in enumerate(facts):
            rule, why = rules.choose_rule(rule_sets[fact.trigger][fact.village], fact)
            if rule is None:
                outcomes[i] = why or "ignored"
            elif not fact.user:
                outcomes[i] = "no_recipient"
            else:
                chosen.append((i, fact, rule, rules.period_key(rule.period, fact.at)))
        capped_rule = {
            i: rule.daily_cap is not None or rule.period_cap is not None for i, _, rule, _ in chosen
        }
        used = self.store.usages(
            {
                (rule.rule_id, fact.user, period)
                for i, fact, rule, period in chosen
                if capped_rule[i]
            },
            session,
        )
        now = self._now()
        planned = []  # (index, fact, rule, points, held, usage or None, transfer)
        for i, fact, rule, period in chosen:
            day = rules.day_key(fact.at)
            usage = None
            if capped_rule[i]:
                tally = used.setdefault((rule.rule_id, fact.user, period), {})
                points = rules.capped(
                    rule, tally.get("days", {}).get(day, 0), tally.get("total", 0)
                )
                usage = (rule.rule_id, fact.user, period, day, points)
                if points > 0:  # the next fact of this worker sees this one counted
                    tally.setdefault("days", {})[day] = tally.get("days", {}).get(day, 0) + points
                    tally["total"] = tally.get("total", 0) + points
            else:
                points = rules.capped(rule, 0, 0)
            if points <= 0:
                outcomes[i] = "cap_reached"
                continue
            held, transfer = award_transfer(fact, rule, points, now)
            planned.append((i, fact, rule, points, held, usage, transfer))
        answers = self.store.append_transfers(
            [p[-1] for p in planned], session, skip_overdrafts=True
        )
        short = [a for a in answers if isinstance(a, Overdraft)]
        if any(not parse_account(a.account).kind == "fund" for a in short):
            raise RuntimeError("an award overdrew an account other than a fund")
        if short and any(p[5] for p in planned):
            # the tallies above counted points a short fund never paid: go one by one
            raise RuntimeError("a fund ran short in a batch with capped rules")
        tallies, awards, payloads = [], [], []
        for (i, fact, rule, points, held, usage, _), record in zip(planned, answers, strict=True):
            if isinstance(record, Overdraft):
                outcomes[i] = "fund_short"
                continue
            if record.get("replayed"):
                outcomes[i] = "repeat"
                continue
            outcomes[i] = "awarded"
            if usage:
                tallies.append(usage)
            award = award_doc(
                record["_id"],
                fact,
                rule,
                points,
                held,
                (usage[2], usage[3]) if usage else None,
                now,
            )
            awards.append(award)
            payloads.append(self._awarded_payload(record, award))
        self.store.add_usages(tallies, session)
        self.store.insert_awards(awards, session)
        self.outbox.record_many(session, POINTS_AWARDED, payloads)
        for award in awards:
            self._award_posted(award, session)
        for i, fact in enumerate(facts):
            if outcomes[i] not in ("awarded", "ignored", "repeat"):
                self._refuse(fact, outcomes[i], session)

    def _awarded_payload(self, record: dict, award: dict) -> dict:
        """`points_awarded` for an award record and its transfer (one event or a batch)."""
        return self._moved_payload(
            record,
            award["user"],
            award["village"],
            amount=award["amount"],
            status=award["state"],
            category=award["category"],
            cause="event",
            cause_ref=award["event_id"],
        )

    def _award_posted(self, award: dict, session) -> None:
        """Hook between an award's writes and its commit; the crash test kills the
        process here (services/points/tests/crashing.py)."""

    def _refuse(self, fact: Fact, reason: str, session) -> None:
        village = fact.village
        self.store.put_refusal(
            {
                "key": fact.key,
                "village": village,
                "user": fact.user,
                "fact": fact_doc(fact),
                "reason": reason,
                "reason_zh": REASONS.get(reason, reason),
                "retryable": reason == "fund_short",
                "state": "open",
                "at": self._now(),
            },
            session,
        )
        self._moved(
            session,
            POINTS_REFUSED,
            {"_id": None},
            fact.user or "",
            village,
            amount=0,
            status="refused",
            cause="event",
            cause_ref=fact.event_id,
            reason=reason,
        )

    def _settle(self, award: dict, session) -> None:
        """Pending points become available: the work was verified."""
        village, user = award["village"], award["user"]
        transfer = Transfer.build(
            "settle",
            f"settle:{award['_id']}",
            [(pending(village, user), -award["amount"]), (wallet(village, user), award["amount"])],
            cause={"kind": "verified", "ref": award["_id"], "ref_id": award["ref"]},
            actor=ACTOR,
            at=self._now(),
            village=village,
        )
        record = self._post(transfer, session)
        self.store.set_award(
            award["_id"], "pending", {"state": "available", "settled_at": record["at"]}, session
        )
        self._moved(
            session,
            POINTS_SETTLED,
            record,
            user,
            village,
            amount=award["amount"],
            status="available",
            category=award["category"],
            cause="event",
            cause_ref=award["_id"],
        )

    def _reverse_awards(self, ref: str, triggers: set | None, reason: str | None, session) -> None:
        for award in self.store.awards_for(ref, session=session):
            if award["state"] in ("reversed", "reversal_short"):
                continue
            if triggers is not None and award["trigger"] not in triggers:
                continue
            self._reverse(award, reason, session)

    def _reverse(self, award: dict, reason: str | None, session) -> None:
        """Undo an award by reversing transfers that name it (and its settlement)."""
        now = self._now()
        cause = {"kind": "reversal", "ref": award["_id"], "ref_id": award["ref"], "reason": reason}
        chain = []  # newest first: the settlement (if the points were verified), the award
        if award.get("settled_at"):
            chain.append(self.store.transfer_by_key(f"settle:{award['_id']}", session))
        chain.append(self.store.transfer(award["_id"], session))
        try:
            record = None
            for t in chain:
                record = self._post(
                    transfer_of(t).reversal(
                        f"reverse:{t['_id']}", cause=cause, actor=ACTOR, at=now
                    ),
                    session,
                )
        except Exception as exc:  # the worker spent them already (InsufficientPoints)
            if getattr(exc, "code", None) != "insufficient_points":
                raise
            self.store.set_award(award["_id"], award["state"], {"state": "reversal_short"}, session)
            fact = Fact(
                "reversal",
                f"reverse-{award['_id']}",
                award["user"],
                award["grid_code"],
                now,
                award["ref_kind"],
                award["ref"],
                {},
            )
            self._refuse(fact, "reversal_short", session)
            return
        usage = award.get("usage")
        if usage:
            self.store.add_usage(
                usage["rule_id"],
                award["user"],
                usage["period"],
                usage["day"],
                -award["amount"],
                session,
            )
        self.store.set_award(
            award["_id"], award["state"], {"state": "reversed", "reversed_at": now}, session
        )
        self._moved(
            session,
            POINTS_REVERSED,
            record or {},
            award["user"],
            award["village"],
            amount=award["amount"],
            status="reversed",
            category=award.get("category"),
            cause="reversal",
            cause_ref=award["_id"],
            reason=reason,
        )

    # --- refusals: seen and retried by the village operator --------------------------------
    @rpc(expected_exceptions=(Forbidden, NotFound, AlreadyAwarded, FundShort))
    def retry_refusal(self, refusal_id: str, *, caller: Caller) -> dict:
        """Try a refused award again (after a top-up): {outcome, award?}."""
        from bson import ObjectId
        from bson.errors import InvalidId

        try:
            found = self.store.refusal(ObjectId(refusal_id))
        except (InvalidId, TypeError):
            found = None
        if found is None:
            raise NotFound(details={"refusal_id": refusal_id})
        self._operator(caller, found["village"])
        if found["state"] == "resolved":
            raise AlreadyAwarded(details={"refusal_id": refusal_id})
        fact = fact_of(found["fact"])

        def work(session):
            outcome, award = self._award(fact, session)
            if outcome == "repeat":
                raise AlreadyAwarded(details={"refusal_id": refusal_id})
            if outcome == "awarded":
                self.store.resolve_refusal(
                    found["key"],
                    {"state": "resolved", "resolved_by": caller.actor, "award_id": award["_id"]},
                    session,
                )
            else:
                self._refuse(fact, outcome, session)
            return outcome, award

        outcome, award = self.store.transaction(work)
        self.outbox.wake()
        if outcome == "fund_short":
            raise FundShort(details={"village": found["village"]})
        return {"outcome": outcome, "award_id": (award or {}).get("_id")}

    @rpc(expected_exceptions=(Forbidden, NotFound))
    def refusals(
        self, village: str, state: str | None = "open", limit: int = 100, *, caller: Caller
    ) -> list:
        self._operator(caller, village)
        out = []
        for doc in self.store.refusals(village, state, max(1, min(int(limit), 500))):
            fact = doc["fact"]
            out.append(
                {
                    "id": str(doc["_id"]),
                    "user_id": doc.get("user"),
                    "trigger": fact["trigger"],
                    "trigger_zh": rules.TRIGGERS.get(fact["trigger"], (fact["trigger"],))[0],
                    "ref_kind": fact["ref_kind"],
                    "ref": fact["ref"],
                    "grid_code": fact["grid_code"],
                    "work_at": iso(fact["at"]),
                    "reason": doc["reason"],
                    "reason_zh": doc.get("reason_zh"),
                    "retryable": doc.get("retryable", False),
                    "state": doc["state"],
                    "attempts": doc.get("attempts", 1),
                    "at": iso(doc["at"]),
                }
            )
        return out

    # --- the clock: held visit points, expiry and its reminders ---------------------------
    @timer(interval=SWEEP_SECONDS)
    def sweep_timer(self):
        self.sweep()

    @rpc
    def sweep(self) -> dict:
        """Settle held points that are due, expire points past their date, remind workers
        of points expiring soon. Safe to run at any time and twice."""
        now = self._now()
        settled = 0
        for award in self.store.holds_due(now):
            if award["trigger"] != "visit_logged":
                continue

            def settle(session, award=award):
                current = self.store.awards_for(award["ref"], session=session)
                if any(a["_id"] == award["_id"] and a["state"] == "pending" for a in current):
                    self._settle(award, session)

            self.store.transaction(settle)
            settled += 1
        expired_points, reminded = 0, 0
        for village in self.store.villages_with_expiry():
            policy = village.get("expiry") or expiry.DEFAULT_POLICY
            remind = timedelta(days=int(village.get("remind_days", 30)))
            for account in self.store.accounts_of_kind("wallet", village["_id"], positive=True):
                gone, told = self._expire_wallet(account, policy, remind, now)
                expired_points += gone
                reminded += told
        self.outbox.wake()
        return {"settled": settled, "expired": expired_points, "reminded": reminded}

    def _expire_wallet(
        self, account: dict, policy: dict, remind: timedelta, now: datetime
    ) -> tuple[int, int]:
        moves = [
            (e["at"], e["amount"]) for e in self.store.entries(account["_id"], newest_first=False)
        ]
        held = expiry.lots(moves, policy)
        amount, latest = expiry.due(held, now)
        village, user = account["village"], account["owner"]
        gone = 0
        if amount > 0 and latest is not None:
            transfer = Transfer.build(
                "expire",
                f"expire:{account['_id']}:{latest.isoformat()}",
                [(account["_id"], -amount), (expired(village), amount)],
                cause={"kind": "expiry", "ref": account["_id"], "policy": policy.get("mode")},
                actor=ACTOR,
                at=now,
                village=village,
            )

            def work(session):
                record = self._post(transfer, session)
                if not record.get("replayed"):
                    self._moved(
                        session,
                        POINTS_EXPIRED,
                        record,
                        user,
                        village,
                        amount=amount,
                        status="expired",
                        cause="expiry",
                        cause_ref=account["_id"],
                    )

            self.store.transaction(work)
            gone = amount
        told = 0
        for when, points in expiry.upcoming(held, now, remind):

            def remind_once(session, when=when, points=points):
                if self.store.remember_reminder(
                    f"{account['_id']}:{when.isoformat()}", now, session
                ):
                    payload = {
                        "user_id": user,
                        "village": village,
                        "amount": points,
                        "expires_at": when.isoformat(),
                        "actor": ACTOR,
                        "at": now.isoformat(),
                    }
                    self.outbox.record(session, POINTS_EXPIRING, PointsExpiring().dump(payload))
                    return 1
                return 0

            told += self.store.transaction(remind_once)
        return gone, told
