from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.identity import domain

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def test_no_lock_before_five_failures_then_doubling_to_a_cap():
    assert [domain.lock_duration(n).total_seconds() for n in range(1, 5)] == [0, 0, 0, 0]
    assert domain.lock_duration(5) == timedelta(seconds=30)
    assert domain.lock_duration(6) == timedelta(seconds=60)
    assert domain.lock_duration(7) == timedelta(seconds=120)
    assert domain.lock_duration(50) == domain.LONGEST_LOCK


@given(st.integers(min_value=1, max_value=10_000))
def test_lock_grows_and_never_passes_the_cap(failures):
    assert (
        domain.lock_duration(failures) <= domain.lock_duration(failures + 1) <= domain.LONGEST_LOCK
    )


def test_retry_after_rounds_up_and_is_zero_when_free():
    now = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    assert domain.retry_after(None, now) == 0
    assert domain.retry_after(now - timedelta(seconds=1), now) == 0
    assert domain.retry_after(now + timedelta(seconds=29.2), now) == 30


def test_refresh_family_accepts_only_its_current_token():
    family = {"current_jti": "b", "revoked_at": None}
    assert domain.judge_refresh(family, "b", NOW).outcome == "rotate"
    assert domain.judge_refresh(family, "a", NOW).outcome == "reused"
    assert domain.judge_refresh({**family, "revoked_at": 1}, "b", NOW).outcome == "revoked"
    assert domain.judge_refresh(None, "b", NOW).outcome == "revoked"


def test_the_token_just_spent_replays_its_successor_within_the_grace_only():
    # a -> b -> c: c is current, b was spent by the latest rotation at NOW
    family = {
        "current_jti": "c",
        "revoked_at": None,
        "previous": {"jti": "b", "successor": "c", "at": NOW},
    }
    judge = domain.judge_refresh
    assert judge(family, "b", NOW) == domain.RefreshVerdict("replay", "c")
    assert judge(family, "b", NOW + domain.REFRESH_GRACE).outcome == "replay"
    late = NOW + domain.REFRESH_GRACE + timedelta(milliseconds=1)
    assert judge(family, "b", late).outcome == "reused"
    assert judge(family, "b", NOW, grace=timedelta(0)).outcome == "replay"
    assert judge(family, "b", NOW + timedelta(seconds=1), grace=timedelta(0)).outcome == "reused"
    # only the immediately previous token: an older one (a stolen one) is reuse at once
    assert judge(family, "a", NOW).outcome == "reused"
    # the successor moved on by another path: the previous token is reuse
    assert judge({**family, "current_jti": "d"}, "b", NOW).outcome == "reused"
    assert judge({**family, "revoked_at": NOW}, "b", NOW).outcome == "revoked"
    # a family that never rotated, or an empty token, has nothing to replay
    assert judge({"current_jti": "a", "revoked_at": None}, "", NOW).outcome == "reused"
    assert judge({**family, "previous": {"jti": "", "successor": "c", "at": NOW}}, "", NOW) == (
        domain.RefreshVerdict("reused")
    )


def test_user_fields_name_each_problem():
    problems = domain.validate_user_fields("a b", ["mayor"], ["33x"])
    assert set(problems) == {"username", "roles", "scopes"}
    assert domain.validate_user_fields("li.ming", ["grid_worker"], ["330424001001-001"]) == {}
    assert "roles" in domain.validate_user_fields(None, [], None)


def test_public_user_has_no_secrets():
    doc = {
        "_id": "u1",
        "username": "x",
        "password_hash": "h",
        "roles": ["resident"],
        "failed_logins": 3,
    }
    assert "password_hash" not in domain.public_user(doc)
    assert domain.public_user(doc)["display_name"] == "x"
