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


def test_caller_crosses_the_broker_as_itself():
    from kombu.utils.json import dumps, loads

    from contracts.caller import Caller

    sent = Caller("u-1", ["grid_worker"], ["330424001001", ""])
    received = loads(dumps({"caller": sent}))["caller"]
    assert isinstance(received, Caller) and received == sent
    assert received.scopes == ("330424001001",)  # an empty scope covers nothing: dropped
    trusted = loads(dumps(Caller.trusted("points")))
    assert trusted.is_trusted and trusted.covers("330424104201-001")


def test_caller_scope_rule_and_refusals():
    import pytest

    from contracts.caller import Caller
    from contracts.errors import Forbidden, NotFound

    c = Caller("u-1", ("community_admin",), ("330424001001",))
    assert c.covers("330424001001-001") and not c.covers("330424104201-001")
    assert not c.covers("") and not c.covers(None)
    with pytest.raises(NotFound):
        c.require_visible("330424104201-001")
    with pytest.raises(Forbidden):
        c.require_writable("330424104201-001")
    assert c.prefixes("3304") == ["330424001001"]
    assert c.prefixes("330424001001-002") == ["330424001001-002"]
    assert c.prefixes("330424104") == []
    assert Caller("x", (), ()).prefixes() == []


def test_a_forged_caller_in_a_payload_is_never_trusted_by_accident():
    from contracts.caller import Caller

    assert not Caller.from_wire({"actor": "u", "is_trusted": "yes"}).is_trusted
    import pytest

    with pytest.raises(ValueError):
        Caller.from_wire({"roles": ["operator"]})


def test_every_named_event_has_a_schema():
    from contracts import cases, grid, points
    from contracts.events import event_schemas, payload_problems

    schemas = event_schemas()
    for module in (grid, cases, points):
        names = [v for k, v in vars(module).items() if k.isupper() and isinstance(v, str)]
        assert names and all(n in schemas for n in names), module.__name__
    assert "case_id" in payload_problems(cases.CASE_CLOSED, {"number": "AJ1"})
    assert payload_problems("not_an_event", {"anything": 1}) == {}


def test_the_vocabulary_is_one_list_of_codes_and_labels():
    from contracts import grid_vocabulary as v
    from contracts.roles import GRID_KEEPERS, ROLE_LABELS, ROLES

    assert v.HOUSEHOLD_TAGS[0] == "elderly_alone" and v.TAG_LABELS["rental_house"] == "出租屋"
    assert set(v.PLACE_ELEMENTS) == set(v.PLACE_KINDS) and v.GRID_LEVEL_LABELS[1] == "一级网格"
    assert all(r in ROLES for r in GRID_KEEPERS) and ROLE_LABELS["grid_leader"] == "网格长"
