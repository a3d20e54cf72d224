"""The ledger's arithmetic: a transfer balances or does not exist; entries chain; no
sequence of transfers takes a debit-normal account below zero or loses a point."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.points.transfer import (
    GENESIS,
    Head,
    Overdraft,
    Transfer,
    UnbalancedTransfer,
    entry_hash,
    fund,
    issued,
    parse_account,
    shown_balance,
    wallet,
)

V = "330424001001"
AT = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def build(postings, key="k1", **kw):
    return Transfer.build("award", key, postings, cause={"kind": "test"}, actor="t", at=AT, **kw)


def test_a_balanced_transfer_is_built_sorted():
    t = build([(wallet(V, "u1"), 5), (fund(V), -5)])
    assert [p.account for p in t.postings] == [fund(V), wallet(V, "u1")]
    assert t.amount == 5


@pytest.mark.parametrize(
    "postings",
    [
        [(fund(V), -5), (wallet(V, "u1"), 4)],  # does not sum to zero
        [(fund(V), -5.0), (wallet(V, "u1"), 5.0)],  # fractions
        [(fund(V), -1), (wallet(V, "u1"), True)],  # a bool is not a count
        [(fund(V), 0), (wallet(V, "u1"), 0)],  # moves nothing
        [(fund(V), -5), (fund(V), 5)],  # one account twice
        [(fund(V), 0)],  # one posting
        [("cash:x", -5), (fund(V), 5)],  # unknown account kind
        [("wallet:x", -5), (fund(V), 5)],  # malformed account
    ],
)
def test_bad_transfers_cannot_be_built(postings):
    with pytest.raises(UnbalancedTransfer):
        build(postings)


def test_a_transfer_needs_a_cause_and_a_zoned_time():
    with pytest.raises(UnbalancedTransfer):
        Transfer.build("x", "k", [(fund(V), -1), (wallet(V, "u"), 1)], cause={}, actor="a", at=AT)
    with pytest.raises(UnbalancedTransfer):
        Transfer.build(
            "x",
            "k",
            [(fund(V), -1), (wallet(V, "u"), 1)],
            cause={"kind": "x"},
            actor="a",
            at=AT.replace(tzinfo=None),
        )


def test_the_digest_covers_the_body_not_the_id_or_time():
    a = build([(fund(V), -5), (wallet(V, "u1"), 5)])
    b = Transfer.build(
        "award",
        "k1",
        [(wallet(V, "u1"), 5), (fund(V), -5)],
        cause={"kind": "test"},
        actor="t",
        at=AT + timedelta(hours=1),
    )
    c = build([(fund(V), -6), (wallet(V, "u1"), 6)])
    assert a.digest() == b.digest() != c.digest()


def test_entries_chain_and_refuse_an_overdraft():
    top = Transfer.build(
        "topup", "t", [(issued(V), -10), (fund(V), 10)], cause={"kind": "topup"}, actor="a", at=AT
    )
    entries = top.entries({})
    assert [(e.account, e.seq, e.prev, e.balance) for e in entries] == [
        (fund(V), 1, GENESIS, 10),
        (issued(V), 1, GENESIS, -10),
    ]
    assert all(entry_hash(e) == e.hash for e in entries)
    assert shown_balance(issued(V), -10) == 10  # credit-normal, shown positive
    heads = {e.account: e.head() for e in entries}
    with pytest.raises(Overdraft) as refused:
        build([(fund(V), -11), (wallet(V, "u1"), 11)]).entries(heads)
    assert refused.value.account == fund(V) and refused.value.balance == 10


def test_a_reversal_names_what_it_reverses_and_undoes_it():
    t = build([(fund(V), -5), (wallet(V, "u1"), 5)])
    r = t.reversal("rev", cause={"kind": "reversal"}, actor="t", at=AT)
    assert r.reverses == t.id
    assert {p.account: p.amount for p in r.postings} == {fund(V): 5, wallet(V, "u1"): -5}


def test_account_names_parse():
    assert parse_account("shop:s1:330424001001").owner == "s1"
    assert parse_account(wallet(V, "u9")).village == V


ACCOUNTS = [issued(V), fund(V), wallet(V, "a"), wallet(V, "b"), "shop:s1:" + V, "expired:" + V]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), st.integers(1, 50)),
        min_size=1,
        max_size=60,
    )
)
def test_no_sequence_of_transfers_overdraws_or_loses_a_point(moves):
    """Random transfers: those that would overdraw are refused whole; after each, every
    debit-normal balance is >= 0, all raw balances sum to zero, and each account's chain
    links up with balances equal to the running sum of its amounts."""
    heads: dict[str, Head] = {}
    history: dict[str, list] = {}
    for n, (source, target, amount) in enumerate(moves):
        if source == target:
            continue
        t = build([(source, -amount), (target, amount)], key=f"k{n}")
        try:
            entries = t.entries(heads)
        except Overdraft:
            continue
        assert sum(e.amount for e in entries) == 0
        for e in entries:
            heads[e.account] = e.head()
            history.setdefault(e.account, []).append(e)
        assert sum(h.balance for h in heads.values()) == 0
        for account, head in heads.items():
            assert shown_balance(account, head.balance) >= 0
    for chain in history.values():
        prev, running = GENESIS, 0
        for seq, e in enumerate(chain, 1):
            running += e.amount
            assert (e.seq, e.prev, e.balance) == (seq, prev, running)
            assert entry_hash(e) == e.hash
            prev = e.hash
