"""Points storage, in the `wg_points` database, behind the `PointsStore` protocol.

The ledger has ONE write path, `append_transfers(transfers, session)` (`append_transfer` is
a batch of one): one read of the transfers' idempotency keys, one of their accounts' heads;
the pure `Transfer.entries` computes the new balances and hash links, carried on in memory
from transfer to transfer (refusing an overdraft before anything is written); then each
account is moved once, conditional on the sequence number it was read at, and the entries
and the transfers (under their unique idempotency keys) are appended. Nothing else writes
`accounts`, `entries` or `transfers`, and nothing ever updates or deletes an entry or a
transfer.

Why a conditional update as well as the transaction: two cashiers spending one wallet at
once both read balance 100; WiredTiger refuses the second writer (a write conflict, which
pymongo retries as a transient transaction error), and the `seq` condition refuses it too
on servers that would not, so neither spends points the other already spent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pymongo import ASCENDING, DESCENDING, InsertOne, MongoClient, ReturnDocument, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from contracts.errors import IdempotencyConflict
from contracts.scope import prefix_range
from services.kit.commands import Commands
from services.kit.mongo import MongoProvider, in_transaction
from services.points.rules import Rule
from services.points.transfer import Entry, Head, Overdraft, Transfer, parse_account

T = TypeVar("T")
Session = ClientSession | None


class LedgerRace(PyMongoError):
    """An account moved between our read and our write: run the transaction again."""

    def __init__(self, account: str):
        super().__init__(f"account {account} changed meanwhile")
        self._add_error_label("TransientTransactionError")  # with_transaction retries it


def transfer_doc(t: Transfer) -> dict:
    return {
        "_id": t.id,
        "key": t.key,
        "digest": t.digest(),
        "kind": t.kind,
        "postings": [{"account": p.account, "amount": p.amount} for p in t.postings],
        "cause": dict(t.cause),
        "actor": t.actor,
        "at": t.at,
        "reverses": t.reverses,
        "village": t.village,
        **({"extra": dict(t.extra)} if t.extra else {}),
    }


def entry_doc(e: Entry) -> dict:
    return {
        "account": e.account,
        "seq": e.seq,
        "transfer_id": e.transfer_id,
        "amount": e.amount,
        "balance": e.balance,
        "at": e.at,
        "prev": e.prev,
        "hash": e.hash,
    }


def transfer_of(doc: dict) -> Transfer:
    """A stored transfer as the pure value again (to build its reversal)."""
    return Transfer.build(
        doc["kind"],
        doc["key"],
        [(p["account"], p["amount"]) for p in doc["postings"]],
        cause=doc["cause"],
        actor=doc["actor"],
        at=doc["at"],
        reverses=doc.get("reverses"),
        village=doc.get("village"),
        transfer_id=doc["_id"],
        extra=doc.get("extra"),
    )


class PointsStore(Protocol):
    """What the points service asks of its database: domain verbs, no query dicts. Every
    balance changes through `append_transfer`; the fakes of unit tests implement this."""

    def ping(self) -> None: ...
    def transaction(self, work: Callable[[ClientSession], T]) -> T: ...
    def run_command(self, kind: str, client_id: str, body: Any, execute: Callable) -> Any: ...

    # the ledger: ONE write verb, and reads
    def append_transfer(self, transfer: Transfer, session: ClientSession) -> dict: ...
    def append_transfers(
        self, transfers: list[Transfer], session: ClientSession, skip_overdrafts: bool = False
    ) -> list[dict | Overdraft]: ...
    def transfer(self, transfer_id: str, session: Session = None) -> dict | None: ...
    def transfer_by_key(self, key: str, session: Session = None) -> dict | None: ...
    def transfers(self, ids: Iterable[str]) -> dict[str, dict]: ...
    def balances(self, accounts: Iterable[str], session: Session = None) -> dict[str, int]: ...
    def user_accounts(
        self, user: str, kind: str, under: str = "", session: Session = None
    ) -> list[dict]: ...
    def accounts_of_kind(
        self, kind: str, village: str | None = None, positive: bool = False
    ) -> Iterator[dict]: ...
    def entries(
        self, account: str, limit: int | None = None, newest_first: bool = True
    ) -> list[dict]: ...
    def recent_topups(self, village: str, limit: int = 20) -> list[dict]: ...

    # villages, rules, caps, awards, refusals, manual requests
    def village(self, code: str, session: Session = None) -> dict | None: ...
    def village_settings(
        self, codes: Iterable[str], session: Session = None
    ) -> dict[str, dict]: ...
    def villages_with_expiry(self) -> list[dict]: ...
    def put_village(self, code: str, changes: dict, session: Session = None) -> dict: ...
    def rules_for(self, trigger: str, village: str, session: Session = None) -> list[Rule]: ...
    def rules_for_villages(
        self, trigger: str, villages: Iterable[str], session: Session = None
    ) -> dict[str, list[Rule]]: ...
    def rules_under(self, prefix: str) -> list[dict]: ...
    def rules_over(self, village: str) -> list[dict]: ...
    def rule_current(self, rule_id: str, session: Session = None) -> dict | None: ...
    def put_rule_version(self, rule: Rule, ended: Rule | None, session: ClientSession) -> None: ...
    def usage_of(self, rule_id: str, user: str, period: str, session: Session = None) -> dict: ...
    def add_usage(
        self, rule_id: str, user: str, period: str, day: str, points: int, session: ClientSession
    ) -> None: ...
    def usages(
        self, keys: Iterable[tuple[str, str, str]], session: Session = None
    ) -> dict[tuple[str, str, str], dict]: ...
    def add_usages(
        self, used: Iterable[tuple[str, str, str, str, int]], session: ClientSession
    ) -> None: ...
    def insert_award(self, doc: dict, session: ClientSession) -> None: ...
    def insert_awards(self, docs: list[dict], session: ClientSession) -> None: ...
    def awards_for(self, ref: str, session: Session = None) -> list[dict]: ...
    def set_award(
        self, award_id: str, state_was: str, changes: dict, session: ClientSession
    ) -> bool: ...
    def holds_due(self, now: datetime, limit: int = 200) -> list[dict]: ...
    def award_totals(
        self, prefix: str, start: datetime, end: datetime, by: str, category: bool = False
    ) -> list[dict]: ...
    def put_refusal(self, doc: dict, session: ClientSession) -> None: ...
    def refusal(self, refusal_id: Any, session: Session = None) -> dict | None: ...
    def refusals(self, village: str, state: str | None, limit: int) -> list[dict]: ...
    def resolve_refusal(self, key: str, changes: dict, session: ClientSession) -> None: ...
    def insert_manual(self, doc: dict, session: ClientSession) -> None: ...
    def manual(self, request_id: str, session: Session = None) -> dict | None: ...
    def set_manual(
        self, request_id: str, state_was: str, changes: dict, session: ClientSession
    ) -> bool: ...
    def manual_requests(self, village: str, state: str | None, limit: int) -> list[dict]: ...
    def remember_reminder(self, key: str, at: datetime, session: ClientSession) -> bool: ...

    # supermarkets, goods, tokens, redemptions, statements
    def insert_shop(self, doc: dict, session: Session = None) -> None: ...
    def shop(self, shop_id: str, session: Session = None) -> dict | None: ...
    def update_shop(self, shop_id: str, version: int, changes: dict) -> dict | None: ...
    def shops_under(self, prefixes: Iterable[str]) -> list[dict]: ...
    def shops_serving(self, village: str) -> list[dict]: ...
    def shops_of_staff(self, user: str) -> list[dict]: ...
    def insert_item(self, doc: dict) -> None: ...
    def item(self, item_id: str) -> dict | None: ...
    def update_item(self, item_id: str, version: int, changes: dict) -> dict | None: ...
    def items_of(
        self, shop_id: str, ids: Iterable[str] | None = None, session: Session = None
    ) -> list[dict]: ...
    def take_stock(self, item_id: str, qty: int, session: ClientSession) -> bool: ...
    def return_stock(self, item_id: str, qty: int, session: ClientSession) -> None: ...
    def insert_token(self, doc: dict) -> bool: ...
    def token(self, token_id: str, session: Session = None) -> dict | None: ...
    def token_by_code(self, code: str, session: Session = None) -> dict | None: ...
    def use_token(
        self, token_id: str, redemption_id: str, at: datetime, session: ClientSession
    ) -> bool: ...
    def live_tokens(self, user: str, now: datetime) -> list[dict]: ...
    def month_taken(
        self, user: str, shop_id: str, month: str, session: Session = None
    ) -> dict[str, int]: ...
    def add_month_taken(
        self, user: str, shop_id: str, month: str, qty: dict[str, int], session: ClientSession
    ) -> None: ...
    def insert_redemption(self, doc: dict, session: ClientSession) -> None: ...
    def redemption(self, redemption_id: str, session: Session = None) -> dict | None: ...
    def set_redemption(
        self, redemption_id: str, state_was: str, changes: dict, session: ClientSession
    ) -> bool: ...
    def redemptions_of_shop(self, shop_id: str, start: datetime, end: datetime) -> list[dict]: ...
    def redemptions_of_user(self, user: str, limit: int = 50) -> list[dict]: ...
    def redemptions_in_village(
        self, village: str, start: datetime, end: datetime
    ) -> list[dict]: ...
    def statement(self, shop_id: str, period: str, session: Session = None) -> dict | None: ...
    def insert_statement(self, doc: dict, session: ClientSession) -> None: ...


class MongoPointsStore:
    def __init__(self, client: MongoClient, db: Database):
        self.client = client
        self.db = db
        self.accounts = db["accounts"]
        self.entry_log = db["entries"]
        self.transfer_log = db["transfers"]
        self.award_log = db["awards"]
        self.refusal_log = db["refusals"]
        self.rule_log = db["rules"]
        self.usage = db["usage"]
        self.villages = db["villages"]
        self.shop_list = db["shops"]
        self.item_list = db["items"]
        self.token_list = db["tokens"]
        self.redemption_log = db["redemptions"]
        self.monthly = db["monthly_limits"]
        self.statement_list = db["statements"]
        self.manual_list = db["manual"]
        self.reminder_list = db["reminders"]
        self.commands = Commands(client, db)

    def prepare(self) -> None:
        self.transfer_log.create_index([("key", ASCENDING)], unique=True)
        self.transfer_log.create_index([("reverses", ASCENDING)], sparse=True)
        self.transfer_log.create_index(
            [("village", ASCENDING), ("kind", ASCENDING), ("at", DESCENDING)]
        )
        self.entry_log.create_index([("account", ASCENDING), ("seq", ASCENDING)], unique=True)
        self.accounts.create_index(
            [("owner", ASCENDING), ("kind", ASCENDING), ("village", ASCENDING)]
        )
        self.accounts.create_index([("kind", ASCENDING), ("village", ASCENDING)])
        self.award_log.create_index([("ref", ASCENDING)])
        self.award_log.create_index([("state", ASCENDING), ("settle_after", ASCENDING)])
        self.award_log.create_index([("grid_code", ASCENDING), ("earned_at", ASCENDING)])
        self.award_log.create_index([("user", ASCENDING), ("earned_at", DESCENDING)])
        self.refusal_log.create_index(
            [("village", ASCENDING), ("state", ASCENDING), ("at", DESCENDING)]
        )
        self.refusal_log.create_index([("key", ASCENDING)], unique=True)
        self.rule_log.create_index([("rule_id", ASCENDING), ("version", ASCENDING)], unique=True)
        self.rule_log.create_index([("trigger", ASCENDING), ("code", ASCENDING)])
        self.shop_list.create_index([("code", ASCENDING)])
        self.shop_list.create_index([("staff", ASCENDING)])
        self.item_list.create_index([("shop_id", ASCENDING), ("name", ASCENDING)])
        self.token_list.create_index([("code", ASCENDING)], unique=True)
        self.token_list.create_index([("user", ASCENDING), ("expires_at", DESCENDING)])
        self.redemption_log.create_index([("shop_id", ASCENDING), ("at", DESCENDING)])
        self.redemption_log.create_index([("user", ASCENDING), ("at", DESCENDING)])
        self.redemption_log.create_index([("villages", ASCENDING), ("at", DESCENDING)])
        self.manual_list.create_index(
            [("village", ASCENDING), ("state", ASCENDING), ("at", DESCENDING)]
        )

    def ping(self) -> None:
        self.db.command("ping")

    def transaction(self, work: Callable[[ClientSession], T]) -> T:
        return in_transaction(self.client, work)

    def run_command(self, kind: str, client_id: str, body: Any, execute: Callable) -> Any:
        return self.commands.run(kind, client_id, body, execute)

    # --- the ledger ----------------------------------------------------------------------
    def append_transfer(self, transfer: Transfer, session: ClientSession) -> dict:
        """Apply `transfer` once, in the caller's transaction, and answer its record: a batch
        of one (see `append_transfers`), so the ledger has one write path.

        The same key with the same body answers the first record (nothing moves again);
        with another body it is IdempotencyConflict. Raises Overdraft (from the pure
        arithmetic) before anything is written.
        """
        answer = self.append_transfers([transfer], session)[0]
        assert isinstance(answer, dict)  # without skip_overdrafts an overdraft raised
        return answer

    def append_transfers(
        self, transfers: list[Transfer], session: ClientSession, skip_overdrafts: bool = False
    ) -> list[dict | Overdraft]:
        """Apply many transfers, in order, in the caller's transaction: one answer each,
        as `append_transfer` would give it (a repeated key answers its first record, marked
        `replayed`, also within the batch). An overdraft raises before anything is written,
        or with `skip_overdrafts` is that transfer's answer (the Overdraft) and the others go
        on. Five round trips whatever the batch's size."""
        if not transfers:
            return []
        firsts = {
            d["key"]: d
            for d in self.transfer_log.find(
                {"key": {"$in": list({t.key for t in transfers})}}, session=session
            )
        }
        names = sorted({name for t in transfers for name in t.accounts()})
        found = {d["_id"]: d for d in self.accounts.find({"_id": {"$in": names}}, session=session)}
        heads = {name: Head(doc["balance"], doc["seq"], doc["head"]) for name, doc in found.items()}
        opened: dict[str, datetime] = {}  # accounts this batch opens, and when
        moved: dict[str, datetime] = {}  # accounts this batch moves, and when last
        answers: list[dict | Overdraft] = []
        entries: list[Entry] = []
        docs: list[dict] = []
        for transfer in transfers:
            first = firsts.get(transfer.key)
            if first is not None:
                if first["digest"] != transfer.digest():
                    raise IdempotencyConflict(details={"key": transfer.key})
                answers.append({**first, "replayed": True})
                continue
            try:
                made = transfer.entries(heads)
            except Overdraft as exc:
                if not skip_overdrafts:
                    raise
                answers.append(exc)
                continue
            for entry in made:
                if entry.account not in found:
                    opened.setdefault(entry.account, transfer.at)
                heads[entry.account] = entry.head()
                moved[entry.account] = transfer.at
            entries.extend(made)
            doc = transfer_doc(transfer)
            doc["balances"] = {e.account: e.balance for e in made}
            docs.append(doc)
            firsts[transfer.key] = doc
            answers.append(doc)
        if not docs:
            return answers
        writes: list[InsertOne | UpdateOne] = []
        for name, at in moved.items():
            head = heads[name]
            now = {"balance": head.balance, "seq": head.seq, "head": head.hash, "updated_at": at}
            if name in found:
                writes.append(UpdateOne({"_id": name, "seq": found[name]["seq"]}, {"$set": now}))
                continue
            account = parse_account(name)
            writes.append(
                InsertOne(
                    {
                        "_id": name,
                        "kind": account.kind,
                        "village": account.village,
                        "owner": account.owner,
                        **now,
                        "opened_at": opened[name],
                    }
                )
            )
        # updates first, then the new accounts: each kind goes as one command
        writes.sort(key=lambda w: isinstance(w, InsertOne))
        updates = sum(1 for w in writes if isinstance(w, UpdateOne))
        try:
            result = self.accounts.bulk_write(writes, ordered=True, session=session)
        except BulkWriteError as exc:  # an account opened by a concurrent transfer
            raise LedgerRace("opened meanwhile") from exc
        if result.matched_count != updates:
            raise LedgerRace("moved meanwhile")
        self.entry_log.insert_many([entry_doc(e) for e in entries], session=session)
        self.transfer_log.insert_many(docs, session=session)
        return answers

    def transfer(self, transfer_id: str, session: Session = None) -> dict | None:
        return self.transfer_log.find_one({"_id": transfer_id}, session=session)

    def transfer_by_key(self, key: str, session: Session = None) -> dict | None:
        return self.transfer_log.find_one({"key": key}, session=session)

    def transfers(self, ids: Iterable[str]) -> dict[str, dict]:
        ids = list(set(ids))
        if not ids:
            return {}
        return {d["_id"]: d for d in self.transfer_log.find({"_id": {"$in": ids}})}

    def balances(self, accounts: Iterable[str], session: Session = None) -> dict[str, int]:
        names = list(accounts)
        found = {
            d["_id"]: d["balance"]
            for d in self.accounts.find({"_id": {"$in": names}}, {"balance": 1}, session=session)
        }
        return {name: found.get(name, 0) for name in names}

    def user_accounts(
        self, user: str, kind: str, under: str = "", session: Session = None
    ) -> list[dict]:
        """A worker's wallets (or pending accounts), in village order, within `under`."""
        query: dict[str, Any] = {"owner": user, "kind": kind}
        if under:
            query["village"] = prefix_range(under)
        return list(self.accounts.find(query, session=session).sort("village", ASCENDING))

    def accounts_of_kind(
        self, kind: str, village: str | None = None, positive: bool = False
    ) -> Iterator[dict]:
        query: dict[str, Any] = {"kind": kind}
        if village:
            query["village"] = village
        if positive:
            query["balance"] = {"$gt": 0}
        return self.accounts.find(query).sort("_id", ASCENDING)

    def entries(
        self, account: str, limit: int | None = None, newest_first: bool = True
    ) -> list[dict]:
        cursor = self.entry_log.find({"account": account}).sort(
            "seq", DESCENDING if newest_first else ASCENDING
        )
        return list(cursor.limit(limit) if limit else cursor)

    def recent_topups(self, village: str, limit: int = 20) -> list[dict]:
        query = {"village": village, "kind": "topup"}
        return list(self.transfer_log.find(query).sort("at", DESCENDING).limit(limit))

    # --- settings of a village collective ------------------------------------------------
    def village(self, code: str, session: Session = None) -> dict | None:
        return self.villages.find_one({"_id": code}, session=session)

    def village_settings(self, codes: Iterable[str], session: Session = None) -> dict[str, dict]:
        return {
            d["_id"]: d for d in self.villages.find({"_id": {"$in": list(codes)}}, session=session)
        }

    def villages_with_expiry(self) -> list[dict]:
        return list(self.villages.find({"expiry.mode": {"$in": ["year_end", "days"]}}))

    def put_village(self, code: str, changes: dict, session: Session = None) -> dict:
        return self.villages.find_one_and_update(
            {"_id": code},
            {"$set": changes},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    # --- rules ---------------------------------------------------------------------------
    def rules_for(self, trigger: str, village: str, session: Session = None) -> list[Rule]:
        """Every version of every rule for `trigger` set by the village or its town."""
        codes = [village, village[:9]]
        found = self.rule_log.find({"trigger": trigger, "code": {"$in": codes}}, session=session)
        return [rule_of(d) for d in found]

    def rules_for_villages(
        self, trigger: str, villages: Iterable[str], session: Session = None
    ) -> dict[str, list[Rule]]:
        """`rules_for` of several villages in one read: village -> its rules and its town's."""
        villages = set(villages)
        codes = sorted(villages | {v[:9] for v in villages})
        found = [
            rule_of(d)
            for d in self.rule_log.find(
                {"trigger": trigger, "code": {"$in": codes}}, session=session
            )
        ]
        return {v: [r for r in found if r.code in (v, v[:9])] for v in villages}

    def rules_under(self, prefix: str) -> list[dict]:
        return list(
            self.rule_log.find({"code": prefix_range(prefix)}).sort(
                [("code", ASCENDING), ("rule_id", ASCENDING), ("version", ASCENDING)]
            )
        )

    def rules_over(self, village: str) -> list[dict]:
        """The rules a village lives under: its own and its town's."""
        return list(
            self.rule_log.find({"code": {"$in": [village, village[:9]]}}).sort(
                [("rule_id", ASCENDING), ("version", ASCENDING)]
            )
        )

    def rule_current(self, rule_id: str, session: Session = None) -> dict | None:
        return self.rule_log.find_one(
            {"rule_id": rule_id}, sort=[("version", DESCENDING)], session=session
        )

    def put_rule_version(self, rule: Rule, ended: Rule | None, session: ClientSession) -> None:
        """Insert a rule's version; end the previous one where it starts (one lineage)."""
        if ended is not None:
            changed = self.rule_log.update_one(
                {"rule_id": ended.rule_id, "version": ended.version},
                {"$set": {"valid_until": ended.valid_until}},
                session=session,
            )
            if changed.matched_count != 1:
                raise LedgerRace(f"rule {ended.rule_id}")
        self.rule_log.insert_one(rule_doc(rule), session=session)

    # --- caps ----------------------------------------------------------------------------
    def usage_of(self, rule_id: str, user: str, period: str, session: Session = None) -> dict:
        return self.usage.find_one({"_id": f"{rule_id}:{user}:{period}"}, session=session) or {}

    def add_usage(
        self, rule_id: str, user: str, period: str, day: str, points: int, session: ClientSession
    ) -> None:
        self.usage.update_one(
            {"_id": f"{rule_id}:{user}:{period}"},
            {"$inc": {"total": points, f"days.{day}": points}},
            upsert=True,
            session=session,
        )

    def usages(
        self, keys: Iterable[tuple[str, str, str]], session: Session = None
    ) -> dict[tuple[str, str, str], dict]:
        """`usage_of` for many (rule_id, user, period) at once (missing ones are absent)."""
        wanted = {f"{r}:{u}:{p}": (r, u, p) for r, u, p in keys}
        if not wanted:
            return {}
        found = self.usage.find({"_id": {"$in": list(wanted)}}, session=session)
        return {wanted[d["_id"]]: d for d in found}

    def add_usages(
        self, used: Iterable[tuple[str, str, str, str, int]], session: ClientSession
    ) -> None:
        """`add_usage` for many (rule_id, user, period, day, points), in one write."""
        writes = [
            UpdateOne(
                {"_id": f"{rule_id}:{user}:{period}"},
                {"$inc": {"total": points, f"days.{day}": points}},
                upsert=True,
            )
            for rule_id, user, period, day, points in used
        ]
        if writes:
            self.usage.bulk_write(writes, ordered=True, session=session)

    # --- awards (what earned what, for holds, reversals, rankings, assessment) -----------
    def insert_award(self, doc: dict, session: ClientSession) -> None:
        self.award_log.insert_one(doc, session=session)

    def insert_awards(self, docs: list[dict], session: ClientSession) -> None:
        if docs:
            self.award_log.insert_many(docs, ordered=True, session=session)

    def awards_for(self, ref: str, session: Session = None) -> list[dict]:
        return list(self.award_log.find({"ref": ref}, session=session).sort("at", ASCENDING))

    def set_award(
        self, award_id: str, state_was: str, changes: dict, session: ClientSession
    ) -> bool:
        done = self.award_log.update_one(
            {"_id": award_id, "state": state_was}, {"$set": changes}, session=session
        )
        return done.modified_count == 1

    def holds_due(self, now: datetime, limit: int = 200) -> list[dict]:
        query = {"state": "pending", "settle_after": {"$lte": now}}
        return list(self.award_log.find(query).sort("settle_after", ASCENDING).limit(limit))

    def award_totals(
        self, prefix: str, start: datetime, end: datetime, by: str, category: bool = False
    ) -> list[dict]:
        """Points earned (net of deductions, reversed awards left out) under a grid-code
        prefix in [start, end), grouped by `by` ('user' or 'grid_code'), optionally by
        category too."""
        group: dict[str, Any] = {by: f"${by}"}
        if category:
            group["category"] = "$category"
        pipeline = [
            {
                "$match": {
                    "grid_code": prefix_range(prefix),
                    "earned_at": {"$gte": start, "$lt": end},
                    "state": {"$in": ["pending", "available"]},
                }
            },
            {"$group": {"_id": group, "points": {"$sum": "$amount"}, "awards": {"$sum": 1}}},
        ]
        return [
            {**d["_id"], "points": d["points"], "awards": d["awards"]}
            for d in self.award_log.aggregate(pipeline)
        ]

    # --- refusals ------------------------------------------------------------------------
    def put_refusal(self, doc: dict, session: ClientSession) -> None:
        """Record (or update) why an award could not be made; one record per award key."""
        self.refusal_log.update_one(
            {"key": doc["key"]},
            {"$set": doc, "$inc": {"attempts": 1}, "$setOnInsert": {"first_at": doc["at"]}},
            upsert=True,
            session=session,
        )

    def refusal(self, refusal_id: Any, session: Session = None) -> dict | None:
        return self.refusal_log.find_one({"_id": refusal_id}, session=session)

    def refusals(self, village: str, state: str | None, limit: int) -> list[dict]:
        query: dict[str, Any] = {"village": village}
        if state:
            query["state"] = state
        return list(self.refusal_log.find(query).sort("at", DESCENDING).limit(limit))

    def resolve_refusal(self, key: str, changes: dict, session: ClientSession) -> None:
        self.refusal_log.update_one({"key": key}, {"$set": changes}, session=session)

    # --- manual awards and deductions ---------------------------------------------------
    def insert_manual(self, doc: dict, session: ClientSession) -> None:
        self.manual_list.insert_one(doc, session=session)

    def manual(self, request_id: str, session: Session = None) -> dict | None:
        return self.manual_list.find_one({"_id": request_id}, session=session)

    def set_manual(
        self, request_id: str, state_was: str, changes: dict, session: ClientSession
    ) -> bool:
        done = self.manual_list.update_one(
            {"_id": request_id, "state": state_was}, {"$set": changes}, session=session
        )
        return done.modified_count == 1

    def manual_requests(self, village: str, state: str | None, limit: int) -> list[dict]:
        query: dict[str, Any] = {"village": village}
        if state:
            query["state"] = state
        return list(self.manual_list.find(query).sort("at", DESCENDING).limit(limit))

    # --- supermarkets and their goods ----------------------------------------------------
    def insert_shop(self, doc: dict, session: Session = None) -> None:
        self.shop_list.insert_one(doc, session=session)

    def shop(self, shop_id: str, session: Session = None) -> dict | None:
        return self.shop_list.find_one({"_id": shop_id}, session=session)

    def update_shop(self, shop_id: str, version: int, changes: dict) -> dict | None:
        return self.shop_list.find_one_and_update(
            {"_id": shop_id, "version": version},
            {"$set": changes, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    def shops_under(self, prefixes: Iterable[str]) -> list[dict]:
        found: dict[str, dict] = {}
        for prefix in prefixes:
            for doc in self.shop_list.find({"code": prefix_range(prefix)}):
                found[doc["_id"]] = doc
        return sorted(found.values(), key=lambda d: (d["code"], d["name"]))

    def shops_serving(self, village: str) -> list[dict]:
        """Supermarkets whose area holds the village: its own and its town's."""
        return list(
            self.shop_list.find({"code": {"$in": [village, village[:9]]}}).sort("name", ASCENDING)
        )

    def shops_of_staff(self, user: str) -> list[dict]:
        return list(self.shop_list.find({"staff": user}).sort("name", ASCENDING))

    def insert_item(self, doc: dict) -> None:
        self.item_list.insert_one(doc)

    def item(self, item_id: str) -> dict | None:
        return self.item_list.find_one({"_id": item_id})

    def update_item(self, item_id: str, version: int, changes: dict) -> dict | None:
        return self.item_list.find_one_and_update(
            {"_id": item_id, "version": version},
            {"$set": changes, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    def items_of(
        self, shop_id: str, ids: Iterable[str] | None = None, session: Session = None
    ) -> list[dict]:
        query: dict[str, Any] = {"shop_id": shop_id}
        if ids is not None:
            query["_id"] = {"$in": list(ids)}
        return list(self.item_list.find(query, session=session).sort("name", ASCENDING))

    def take_stock(self, item_id: str, qty: int, session: ClientSession) -> bool:
        """Take `qty` off the item's stock if that much is there (never below zero)."""
        done = self.item_list.update_one(
            {"_id": item_id, "stock": {"$gte": qty}}, {"$inc": {"stock": -qty}}, session=session
        )
        return done.modified_count == 1

    def return_stock(self, item_id: str, qty: int, session: ClientSession) -> None:
        self.item_list.update_one({"_id": item_id}, {"$inc": {"stock": qty}}, session=session)

    # --- redemption tokens, redemptions, per-person limits --------------------------------
    def insert_token(self, doc: dict) -> bool:
        """False when the short code is taken (the caller draws another)."""
        try:
            self.token_list.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def token(self, token_id: str, session: Session = None) -> dict | None:
        return self.token_list.find_one({"_id": token_id}, session=session)

    def token_by_code(self, code: str, session: Session = None) -> dict | None:
        return self.token_list.find_one({"code": code}, session=session)

    def use_token(
        self, token_id: str, redemption_id: str, at: datetime, session: ClientSession
    ) -> bool:
        done = self.token_list.update_one(
            {"_id": token_id, "used_at": None},
            {"$set": {"used_at": at, "redemption_id": redemption_id}},
            session=session,
        )
        return done.modified_count == 1

    def live_tokens(self, user: str, now: datetime) -> list[dict]:
        """The user's unused, unexpired tokens (a worker holds a handful)."""
        query = {"user": user, "used_at": None, "expires_at": {"$gt": now}}
        return list(self.token_list.find(query).sort("expires_at", ASCENDING).limit(50))

    def month_taken(
        self, user: str, shop_id: str, month: str, session: Session = None
    ) -> dict[str, int]:
        doc = self.monthly.find_one({"_id": f"{user}:{shop_id}:{month}"}, session=session)
        return dict((doc or {}).get("items", {}))

    def add_month_taken(
        self, user: str, shop_id: str, month: str, qty: dict[str, int], session: ClientSession
    ) -> None:
        self.monthly.update_one(
            {"_id": f"{user}:{shop_id}:{month}"},
            {"$inc": {f"items.{k}": v for k, v in qty.items()}},
            upsert=True,
            session=session,
        )

    def insert_redemption(self, doc: dict, session: ClientSession) -> None:
        self.redemption_log.insert_one(doc, session=session)

    def redemption(self, redemption_id: str, session: Session = None) -> dict | None:
        return self.redemption_log.find_one({"_id": redemption_id}, session=session)

    def set_redemption(
        self, redemption_id: str, state_was: str, changes: dict, session: ClientSession
    ) -> bool:
        done = self.redemption_log.update_one(
            {"_id": redemption_id, "state": state_was}, {"$set": changes}, session=session
        )
        return done.modified_count == 1

    def redemptions_of_shop(self, shop_id: str, start: datetime, end: datetime) -> list[dict]:
        query = {"shop_id": shop_id, "at": {"$gte": start, "$lt": end}}
        return list(self.redemption_log.find(query).sort("at", DESCENDING))

    def redemptions_of_user(self, user: str, limit: int = 50) -> list[dict]:
        return list(self.redemption_log.find({"user": user}).sort("at", DESCENDING).limit(limit))

    def redemptions_in_village(self, village: str, start: datetime, end: datetime) -> list[dict]:
        query = {"villages": village, "at": {"$gte": start, "$lt": end}}
        return list(self.redemption_log.find(query).sort("at", ASCENDING))

    # --- statements ----------------------------------------------------------------------
    def statement(self, shop_id: str, period: str, session: Session = None) -> dict | None:
        return self.statement_list.find_one({"_id": f"{shop_id}:{period}"}, session=session)

    def insert_statement(self, doc: dict, session: ClientSession) -> None:
        self.statement_list.insert_one(doc, session=session)

    # --- expiry reminders ----------------------------------------------------------------
    def remember_reminder(self, key: str, at: datetime, session: ClientSession) -> bool:
        """False when this reminder was already sent."""
        try:
            self.reminder_list.insert_one({"_id": key, "at": at}, session=session)
        except DuplicateKeyError:
            return False
        return True


def rule_doc(rule: Rule) -> dict:
    doc = dict(rule.__dict__)
    doc["_id"] = f"{rule.rule_id}.{rule.version}"
    return doc


def rule_of(doc: dict) -> Rule:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return Rule(**fields)


class PointsStorage(MongoProvider):
    def __init__(self, **kwargs: Any):
        super().__init__("points", **kwargs)

    def wrap(self, client, db) -> MongoPointsStore:
        return MongoPointsStore(client, db)
