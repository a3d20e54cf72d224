from nameko.exceptions import deserialize, serialize

from contracts.errors import CATALOG, AccountLocked, LianxinError, message_of, status_of
from contracts.events import Envelope, envelope
from contracts.scope import in_scope, narrowest, prefix_range


def test_named_errors_cross_rpc_as_themselves_with_typed_details():
    sent = AccountLocked(details={"retry_after": 30})
    received = deserialize(serialize(sent))
    assert isinstance(received, AccountLocked) and isinstance(received, LianxinError)
    assert received.details == {"retry_after": 30}


def test_every_code_has_status_and_both_languages():
    for code, (status, zh, en) in CATALOG.items():
        assert 400 <= status < 600 and zh and en, code
    assert status_of("account_locked") == 429
    assert message_of("account_locked", "zh", {"retry_after": 12}).endswith("请 12 秒后再试")
    assert "12 seconds" in message_of("account_locked", "en", {"retry_after": 12})


def test_scope_is_a_code_prefix():
    assert in_scope("330424001001-001-01", ["330424001"])
    assert not in_scope("330424002001-001", ["330424001"])
    assert not in_scope("330424001001", [""])
    rng = prefix_range("330424001")
    assert rng["$gte"] <= "330424001001-001" < rng["$lt"]
    assert narrowest(["330424001001", "3304", "330424"]) == ["3304"]


def test_envelope_has_every_field():
    event = envelope("visit_logged", {"a": 1}, producer="grid")
    assert Envelope().validate(event) == {}
    assert event["version"] == 1 and event["occurred_at"].endswith("+00:00")
