"""The ledger's arithmetic (pure, standard library only): accounts, a `Transfer` of postings
that sum to zero, and the entries a transfer leaves on each account, chained by hash.

Points are integers. A transfer that does not balance, that holds a fraction, a zero or a
boolean amount, or that names one account twice cannot be built. Every account has a
normal side: debit-normal accounts (funds, wallets, supermarkets, sinks) hold a balance
that never goes below zero; the one credit-normal account per village, `issued:V`, is the
source of the collective's points and holds minus what it has bought.

    t = Transfer.build("topup", "topup:abc", [(issued(v), -100), (fund(v), 100)],
                       cause={"kind": "topup", "ref": "abc"}, actor="u-1", at=now)
    entries = t.entries(heads)   # raises Overdraft if an account would go below zero
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeGuard

# --- accounts ----------------------------------------------------------------------------
# kind -> normal side: +1 debit-normal (balance = sum of entries, never below zero),
# -1 credit-normal (balance shown = -sum, never below zero).
ACCOUNT_KINDS: dict[str, int] = {
    "issued": -1,  # issued:V - the points village V has bought (source of every point)
    "fund": 1,  # fund:V - bought, not yet awarded
    "pending": 1,  # pending:V:U - awarded to worker U, waiting for verification
    "wallet": 1,  # wallet:V:U - worker U's available points from village V
    "shop": 1,  # shop:S:V - redeemed at supermarket S, owed by village V, not yet paid
    "paid": 1,  # paid:V - redeemed points the village has paid the supermarkets for
    "expired": 1,  # expired:V - points that expired unspent
}
GENESIS = "0" * 64  # the hash before an account's first entry


def issued(village: str) -> str:
    return f"issued:{village}"


def fund(village: str) -> str:
    return f"fund:{village}"


def pending(village: str, user: str) -> str:
    return f"pending:{village}:{user}"


def wallet(village: str, user: str) -> str:
    return f"wallet:{village}:{user}"


def shop(shop_id: str, village: str) -> str:
    return f"shop:{shop_id}:{village}"


def paid(village: str) -> str:
    return f"paid:{village}"


def expired(village: str) -> str:
    return f"expired:{village}"


@dataclass(frozen=True)
class AccountName:
    kind: str
    village: str
    owner: str | None  # the worker (pending, wallet) or the supermarket (shop)


def parse_account(account: str) -> AccountName:
    parts = account.split(":")
    kind = parts[0]
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"unknown account kind in {account!r}")
    if kind in ("pending", "wallet") and len(parts) == 3:
        return AccountName(kind, parts[1], parts[2])
    if kind == "shop" and len(parts) == 3:
        return AccountName(kind, parts[2], parts[1])
    if len(parts) == 2 and kind not in ("pending", "wallet", "shop"):
        return AccountName(kind, parts[1], None)
    raise ValueError(f"malformed account {account!r}")


def sign_of(account: str) -> int:
    return ACCOUNT_KINDS[parse_account(account).kind]


def shown_balance(account: str, raw: int) -> int:
    """The balance on the account's normal side (what a person reads; never negative)."""
    return sign_of(account) * raw


# --- errors ------------------------------------------------------------------------------
class UnbalancedTransfer(ValueError):
    """The postings do not make a valid transfer (see `Transfer.build`)."""


class Overdraft(ValueError):
    """A posting would take an account below zero on its normal side."""

    def __init__(self, account: str, balance: int, amount: int):
        super().__init__(f"{account}: balance {balance}, posting {amount}")
        self.account = account
        self.balance = balance  # on the normal side
        self.amount = amount


def is_whole(value: Any) -> TypeGuard[int]:
    """An integer that is not a bool (True is an int to Python, never a point count)."""
    return isinstance(value, int) and not isinstance(value, bool)


# --- transfers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Posting:
    account: str
    amount: int  # raw: + debit, - credit


@dataclass(frozen=True)
class Transfer:
    id: str
    key: str  # idempotency key: the same key with the same body is the same transfer
    kind: str  # topup, award, settle, reversal, manual, redeem, refund, expire, payment
    postings: tuple[Posting, ...]
    cause: Mapping[str, Any]  # kind, ref and who/why: what made this transfer
    actor: str
    at: datetime
    reverses: str | None = None  # the transfer this one undoes
    village: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        kind: str,
        key: str,
        postings: Iterable[tuple[str, int]],
        *,
        cause: Mapping[str, Any],
        actor: str,
        at: datetime,
        reverses: str | None = None,
        village: str | None = None,
        transfer_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Transfer:
        """A transfer, or UnbalancedTransfer: postings must be whole non-zero amounts on
        distinct, well-formed accounts and add up to zero; key, kind and cause are needed."""
        items = tuple(Posting(str(a), n) for a, n in postings)
        if len(items) < 2:
            raise UnbalancedTransfer("a transfer needs at least two postings")
        for p in items:
            if not is_whole(p.amount):
                raise UnbalancedTransfer(f"{p.account}: amount {p.amount!r} is not an integer")
            if p.amount == 0:
                raise UnbalancedTransfer(f"{p.account}: a zero posting moves nothing")
            try:
                parse_account(p.account)
            except ValueError as exc:
                raise UnbalancedTransfer(str(exc)) from exc
        if len({p.account for p in items}) != len(items):
            raise UnbalancedTransfer("an account appears twice in one transfer")
        if sum(p.amount for p in items) != 0:
            raise UnbalancedTransfer(f"postings sum to {sum(p.amount for p in items)}, not 0")
        if not key or not kind or not cause or not cause.get("kind"):
            raise UnbalancedTransfer("a transfer needs a key, a kind and a cause with a kind")
        if at.tzinfo is None:
            raise UnbalancedTransfer("the time of a transfer must carry its zone (UTC)")
        return cls(
            id=transfer_id or uuid.uuid4().hex,
            key=key,
            kind=kind,
            postings=tuple(sorted(items, key=lambda p: p.account)),
            cause=dict(cause),
            actor=actor,
            at=at,
            reverses=reverses,
            village=village,
            extra=dict(extra or {}),
        )

    @property
    def amount(self) -> int:
        """How many points move (the sum of the debits)."""
        return sum(p.amount for p in self.postings if p.amount > 0)

    def accounts(self) -> list[str]:
        return [p.account for p in self.postings]

    def digest(self) -> str:
        """What the idempotency key promises: the same key must carry this same body."""
        body = {
            "kind": self.kind,
            "postings": [[p.account, p.amount] for p in self.postings],
            "cause": self.cause,
            "reverses": self.reverses,
        }
        return hashlib.sha256(canonical(body).encode()).hexdigest()

    def reversal(self, key: str, *, cause: Mapping[str, Any], actor: str, at: datetime) -> Transfer:
        """The transfer that undoes this one, naming it."""
        return Transfer.build(
            "reversal",
            key,
            [(p.account, -p.amount) for p in self.postings],
            cause=cause,
            actor=actor,
            at=at,
            reverses=self.id,
            village=self.village,
        )

    def entries(self, heads: Mapping[str, Head]) -> list[Entry]:
        """The entries this transfer appends, one per posting, given each account's head
        (missing: a new account). Raises Overdraft when a balance would go below zero."""
        out = []
        for p in self.postings:
            head = heads.get(p.account) or Head(0, 0, GENESIS)
            after = head.balance + p.amount
            if sign_of(p.account) * after < 0:
                raise Overdraft(p.account, sign_of(p.account) * head.balance, p.amount)
            entry = Entry(
                account=p.account,
                seq=head.seq + 1,
                transfer_id=self.id,
                amount=p.amount,
                balance=after,
                at=self.at,
                prev=head.hash,
                hash="",
            )
            out.append(entry.sealed())
        return out


@dataclass(frozen=True)
class Head:
    """Where an account stands: its raw balance, last sequence number and last hash."""

    balance: int
    seq: int
    hash: str


@dataclass(frozen=True)
class Entry:
    account: str
    seq: int
    transfer_id: str
    amount: int
    balance: int  # raw balance after this entry
    at: datetime
    prev: str  # the hash of the account's entry before this one
    hash: str

    def sealed(self) -> Entry:
        return Entry(**{**self.__dict__, "hash": entry_hash(self)})

    def head(self) -> Head:
        return Head(self.balance, self.seq, self.hash)


def entry_hash(e: Entry) -> str:
    """The link of an account's chain: covers the entry's fields and the link before it."""
    body = f"{e.prev}|{e.account}|{e.seq}|{e.transfer_id}|{e.amount}|{e.balance}|{iso(e.at)}"
    return hashlib.sha256(body.encode()).hexdigest()


def iso(at: datetime) -> str:
    # UTC to the millisecond: what MongoDB keeps of a datetime, so a stored entry hashes
    # the same when it is read back.
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def posting_token(transfer_id: str, account: str, amount: int) -> int:
    """A number per (transfer, account, amount). The audit adds these up over the entries
    and over the transfers' postings: equal sums say both hold the same postings, without
    keeping either in memory."""
    digest = hashlib.sha256(f"{transfer_id}|{account}|{amount}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
