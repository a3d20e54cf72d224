"""The kit's pieces that need no broker: the start-up transaction check and the clock."""

from datetime import datetime, timedelta, timezone

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from services.kit.clock import SettableClock
from services.kit.mongo import TransactionsUnavailable, check_transactions


class StandaloneMongoClient(MongoClient):
    """What a standalone mongod answers when a session starts a transaction."""

    def start_session(self, *args, **kwargs):
        raise OperationFailure(
            "Transaction numbers are only allowed on a replica set member or mongos", code=20
        )


def test_a_server_without_transactions_is_refused_with_a_clear_message():
    client = StandaloneMongoClient("mongodb://127.0.0.1:1/", connect=False)
    with pytest.raises(TransactionsUnavailable) as refused:
        check_transactions(client, client["wg_test"])
    message = str(refused.value)
    assert "replica set" in message and "SecantusDB" in message and "MONGO_URL" in message


def test_settable_clock_moves_only_when_told():
    start = datetime(2026, 3, 31, 15, 59, tzinfo=timezone.utc)  # 23:59 in Shanghai
    clock = SettableClock(start)
    assert abs(clock.now() - start) < timedelta(seconds=1)
    clock.advance(timedelta(minutes=2))
    assert abs(clock.now() - (start + timedelta(minutes=2))) < timedelta(seconds=1)
    assert clock.now().tzinfo is not None
