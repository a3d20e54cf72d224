"""Awards in batches (services/kit/batching.py, `AwardConsumers._award_events`), against the
real broker and database: a burst is applied in transactions of several events, each event
once however often it arrives, with one hash chain per account; a batch that cannot keep
the one-by-one outcome is applied one by one; and the ledger's batch verb on its own."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from contracts.grid import VISIT_LOGGED
from services.kit.batching import batcher_of
from services.kit.consumer import EventInbox
from services.kit.outbox import amqp_publisher
from services.points.audit import audit
from services.points.storage import PointsStorage
from services.points.tests.conftest import VILLAGE, visit, wait_for
from services.points.transfer import Overdraft, Transfer, fund, wallet

pytestmark = pytest.mark.interface
FUND = f"fund:{VILLAGE}"


def batcher(points):
    inbox = next(e for e in points.container.extensions if isinstance(e, EventInbox)).inbox
    return batcher_of(inbox, "on_visit_logged")


def test_a_burst_is_awarded_in_batches_each_event_once(points):
    points.setup_village(fund=1000)
    workers = ("w1", "w2", "w3")
    payloads = [visit(n, worker=workers[n % 3]) for n in range(30)]
    events = points.publish("grid", VISIT_LOGGED, *payloads)
    # the broker delivers some again at once (a connection dropped before the acks)
    publish = amqp_publisher(points.config["AMQP_URI"], "grid")
    for event in events[:5]:
        publish(event)
    points.handled(30)
    wait_for(lambda: points.db["transfers"].count_documents({"kind": "award"}) >= 30)
    # and again once everything is applied: repeats
    for event in events[10:15]:
        publish(event)
    for event in events[:3]:
        assert points.call("on_visit_logged", event) == "repeat"
    wait_for(lambda: batcher(points).batched >= 30)
    awards = list(points.db["transfers"].find({"kind": "award"}))
    assert len(awards) == 30 == len({a["key"] for a in awards})
    assert points.db["processed_events"].count_documents({}) == 30
    assert points.db["awards"].count_documents({}) == 30
    for w in workers:
        assert points.balance(wallet(VILLAGE, w)) == 50
    assert points.balance(FUND) == 1000 - 150
    # one chain per account: the fund's entries are numbered 1 (the top-up) … 31, unbroken
    seqs = [e["seq"] for e in points.db["entries"].find({"account": FUND}).sort("seq", 1)]
    assert seqs == list(range(1, 32))
    assert points.db["outbox"].count_documents({"event.type": "points_awarded"}) == 30
    b = batcher(points)
    assert b.batched > b.batches  # some transaction held more than one event
    assert audit(points.db).ok


def test_a_short_fund_with_capped_rules_is_applied_one_by_one(points):
    """A batch would have counted the caps of awards the fund could not pay: it gives way
    to the one-by-one path, and the tallies hold only what was paid."""
    points.setup_village(fund=12, period_cap=100)
    points.publish("grid", VISIT_LOGGED, *[visit(n) for n in range(4)])
    points.handled(4)
    wallet_w1 = wallet(VILLAGE, "w1")
    wait_for(lambda: points.db["refusals"].count_documents({}) >= 2)
    assert points.balance(wallet_w1) == 10 and points.balance(FUND) == 2
    [usage] = list(points.db["usage"].find())
    assert usage["total"] == 10
    reasons = sorted(r["reason"] for r in points.db["refusals"].find())
    assert reasons == ["fund_short", "fund_short"]
    assert audit(points.db).ok


def test_the_ledger_batch_verb(points):
    points.setup_village(fund=10)
    store = next(e for e in points.container.extensions if isinstance(e, PointsStorage)).wrapper
    at = datetime.now(timezone.utc).replace(microsecond=0)

    def award(key: str, user: str, n: int) -> Transfer:
        legs = [(fund(VILLAGE), -n), (wallet(VILLAGE, user), n)]
        return Transfer.build("award", key, legs, cause={"kind": "test"}, actor="t", at=at)

    batch = [award("b1", "u1", 4), award("b2", "u1", 4), award("b1", "u1", 4), award("b3", "u2", 4)]
    # strict: the overdraft of b3 (10 - 8 < 4) refuses the whole batch, nothing written
    with pytest.raises(Overdraft):
        store.transaction(lambda s: store.append_transfers(batch, s))
    assert points.balance(FUND) == 10 and points.db["transfers"].count_documents({}) == 1
    answers = store.transaction(lambda s: store.append_transfers(batch, s, skip_overdrafts=True))
    assert [a["key"] for a in answers[:3]] == ["b1", "b2", "b1"]
    assert answers[2]["replayed"] and answers[2]["_id"] == answers[0]["_id"]
    assert isinstance(answers[3], Overdraft)
    assert points.balance(FUND) == 2 and points.balance(wallet(VILLAGE, "u1")) == 8
    entries = list(points.db["entries"].find({"account": wallet(VILLAGE, "u1")}).sort("seq", 1))
    assert [e["seq"] for e in entries] == [1, 2] and entries[1]["prev"] == entries[0]["hash"]
    # the same keys again (a redelivered batch): first records, nothing moves
    again = store.transaction(lambda s: store.append_transfers(batch[:2], s))
    assert all(a["replayed"] for a in again) and points.balance(FUND) == 2
    assert audit(points.db).ok
