from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.identity import domain


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
    assert domain.judge_refresh(family, "b").outcome == "rotate"
    assert domain.judge_refresh(family, "a").outcome == "reused"
    assert domain.judge_refresh({**family, "revoked_at": 1}, "b").outcome == "revoked"
    assert domain.judge_refresh(None, "b").outcome == "revoked"


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
