"""Grid rules as plain objects: codes, households, masking, posts, duties, warnings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.grid import domain, households, visits
from services.grid.vault import Vault
from services.kit.sealing import Keyring

SH = domain.LOCAL


def at_local(y, m, d, h=0, mi=0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=SH).astimezone(UTC)


# --- codes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "code, level, parent",
    [
        ("330424001001-001", 1, "330424001001"),
        ("330424001001-001-01", 2, "330424001001-001"),
        ("330424001001-001-01-02", 3, "330424001001-001-01"),
    ],
)
def test_code_tells_level_and_parent(code, level, parent):
    assert domain.grid_level(code) == level
    assert domain.grid_parent(code) == parent
    assert domain.grid_ancestors(code)[-1] == code


@pytest.mark.parametrize(
    "code", ["330424001001", "330424001001-1", "330424001001-001-1", "33042400100-001", "x"]
)
def test_malformed_codes_are_refused(code):
    assert not domain.is_grid_code(code)
    assert "code" in domain.check_grid_fields({"code": code, "name": "n"})


def test_code_must_fit_the_parent_given():
    problems = domain.check_grid_fields(
        {"code": "330424001001-001-01", "name": "1幢", "parent": "330424001001-002"}
    )
    assert "330424001001-001" in problems["parent"]


def test_dedicated_grid_needs_a_kind():
    data = {"code": "330424001001-004", "name": "商业街", "kind": "dedicated"}
    assert "dedicated_kind" in domain.check_grid_fields(data)
    assert domain.check_grid_fields({**data, "dedicated_kind": "street_shops"}) == {}


@given(st.integers(1, 999), st.integers(1, 99), st.integers(1, 99))
def test_child_codes_round_trip(a, b, c):
    l1 = domain.child_code("330424001001", a)
    l3 = domain.child_code(domain.child_code(l1, b), c)
    assert domain.grid_level(l3) == 3
    assert domain.grid_ancestors(l3)[0] == l1
    assert domain.grid_parent(domain.grid_parent(l3)) == l1


def test_division_levels():
    assert domain.division_level("330424") == "county"
    assert domain.division_parent("330424001001") == "330424001"
    assert domain.division_level("3304240") is None


# --- households and personal data ----------------------------------------------------------
def valid_id(first17="33042419800101001") -> str:
    return first17 + domain.id_check_char(first17)


def test_id_number_checks():
    assert domain.id_number_problem(valid_id()) is None
    wrong = valid_id()[:-1] + ("0" if valid_id()[-1] != "0" else "1")
    assert domain.id_number_problem(wrong) == "the check character is wrong"
    assert "date" in domain.id_number_problem(valid_id("33042419801301001"))
    assert domain.id_number_problem("1234") is not None


def test_masking():
    assert domain.mask_phone("13812345678") == "138****5678"
    # issue 7 §2: the county and the birth date both hidden (was "330424********0012")
    assert domain.mask_id("330424198001010012") == "33************0012"
    assert domain.mask_id("330424********0012") == "33************0012"  # an older mask
    assert domain.mask_phone(None) is None


def test_keyed_hash_depends_on_key_and_not_on_case():
    a = domain.id_lookup_hash("33042419800101001x", b"k1")
    assert a == domain.id_lookup_hash("33042419800101001X", b"k1")
    assert a != domain.id_lookup_hash("33042419800101001X", b"k2")


def household(**over):
    data = {
        "grid_code": "330424001001-001-01",
        "address": {"building": "1", "unit": "1", "room": "101"},
        "members": [{"name": "张伟", "relation": "head", "id_number": valid_id()}],
        "housing": {"tenure": "owned"},
        "tags": [],
    }
    data.update(over)
    return data


def test_household_problems_name_the_field():
    today = date(2024, 5, 1)
    assert households.problems(household(), today) == {}
    problems = households.problems(
        household(
            members=[
                {"name": "", "relation": "head", "phone": "12"},
                {"name": "李", "relation": "head", "birth_date": "2030-01-01"},
            ],
            housing={"tenure": "rented"},
            tags=["vip"],
        ),
        today,
    )
    assert set(problems) >= {
        "members[0].name",
        "members[0].phone",
        "members[1].birth_date",
        "members",
        "housing.landlord",
        "tags",
    }


def test_household_record_keeps_hash_when_masked_file_comes_back():
    key = Vault(b"k", Keyring.generate())
    first = households.fields(household(), None, key, lambda: "m1")
    member = first["members"][0]
    # issue 7 §2: the mask hides the county too (was "330424********" + the last four)
    assert member["id_masked"] == "33************" + valid_id()[-4:]
    assert "id_number" not in member  # the clear number is never stored
    view = households.view({"_id": "h", **first}, unmasked=False, vault=key)
    again = households.fields({**household(), "members": view["members"]}, first, key, lambda: "m2")
    assert again["members"] == first["members"]
    assert not households.changed(first, again)


def test_rented_home_is_tagged_rental_house():
    data = household(housing={"tenure": "rented", "landlord": "王"})
    assert "rental_house" in households.tags_of(data)


def test_unmask_roles():
    assert domain.may_unmask(["grid_worker"])
    assert not domain.may_unmask(["instructor", "resident"])


# --- posts and on-duty -------------------------------------------------------------------------
L1, L2, L3 = "330424001001-001", "330424001001-001-01", "330424001001-001-01-01"


def post(user, grid, name, ab=None, absent=False):
    return {"user_id": user, "grid_code": grid, "post": name, "ab": ab, "absent": absent}


def test_on_duty_a_then_b_then_up_to_leader():
    posts = {
        L1: [post("lead", L1, "grid_leader"), post("ft", L1, "full_time_worker")],
        L2: [post("a2", L2, "part_time_worker", "A"), post("b2", L2, "part_time_worker", "B")],
        L3: [post("a3", L3, "part_time_worker", "A"), post("b3", L3, "part_time_worker", "B")],
    }
    assert domain.resolve_on_duty(L3, posts).user_id == "a3"
    posts[L3][0]["absent"] = True
    assert domain.resolve_on_duty(L3, posts).user_id == "b3"
    posts[L3][1]["absent"] = True
    found = domain.resolve_on_duty(L3, posts)
    assert (found.user_id, found.grid_code, found.path) == ("a2", L2, (L3, L2))
    posts[L2] = []
    assert domain.resolve_on_duty(L3, posts).user_id == "lead"
    posts[L1][0]["absent"] = True
    assert domain.resolve_on_duty(L3, posts).user_id == "ft"
    posts[L1] = []
    assert domain.resolve_on_duty(L3, posts) is None


def test_post_rules():
    assert "ab" in domain.check_post(post("u", L1, "full_time_worker", "A"), 1)
    assert "post" in domain.check_post(post("u", L2, "grid_leader"), 2)
    assert domain.check_post(post("u", L2, "part_time_worker", "B"), 2) == {}


# --- warnings ---------------------------------------------------------------------------------
def rules(grid, households, posts):
    return {w.rule for w in domain.grid_warnings(grid, households, posts)}


def test_level1_size_and_staffing_warnings():
    g = {"code": L1, "level": 1}
    staff = [post("lead", L1, "grid_leader")] + [
        post(f"f{i}", L1, "full_time_worker") for i in range(4)
    ]
    assert rules(g, 250, staff) == {"level1_too_small"}
    assert rules(g, 400, staff) == set()
    assert rules(g, 401, staff) == {"too_few_full_time"}
    assert rules(g, 520, staff) == {"level1_too_large", "too_few_full_time"}
    assert "no_leader" in rules(g, 350, staff[1:])
    assert rules({"code": L1, "level": 1, "kind": "dedicated"}, 0, []) == set()


def test_level3_size_and_b_post_warnings():
    g = {"code": L3, "level": 3}
    ab = [post("a", L3, "part_time_worker", "A"), post("b", L3, "part_time_worker", "B")]
    assert rules(g, 30, ab) == set()
    assert rules(g, 55, ab) == {"micro_size"}
    assert rules(g, 30, ab[:1]) == {"no_b_post"}


# --- visits and duties ------------------------------------------------------------------------
def test_quarters_are_shanghai_quarters():
    # 2024-03-31 20:00 UTC is already 1 April in Shanghai: the second quarter
    q = domain.quarter_of(datetime(2024, 3, 31, 20, 0, tzinfo=UTC))
    assert q.label == "2024Q2"
    assert q.start == at_local(2024, 4, 1) and q.end == at_local(2024, 7, 1)
    assert domain.quarter_of(datetime(2024, 3, 31, 15, 59, tzinfo=UTC)).label == "2024Q1"
    assert domain.previous(domain.quarter_of(at_local(2024, 1, 5))).label == "2023Q4"
    assert domain.year_of(at_local(2024, 12, 31, 23, 59)).label == "2024"


def test_days_left_counts_today():
    q = domain.quarter_of(at_local(2024, 3, 31, 10))
    assert domain.days_left(q, at_local(2024, 3, 31, 10)) == 1
    assert domain.days_left(q, at_local(2024, 1, 1, 0, 5)) == 91


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
def test_every_moment_lies_in_its_quarter(naive):
    moment = naive.replace(tzinfo=UTC)
    q = domain.quarter_of(moment)
    assert q.start <= moment < q.end
    assert 1 <= domain.days_left(q, moment) <= 92
    assert domain.previous(q).end == q.start


def duty(hid, created, last=None, care=None, tags=()):
    return domain.HouseholdDuty(hid, L3, created, last, care, tuple(tags))


def test_coverage_visited_overdue_and_care():
    now = at_local(2024, 5, 15)
    q = domain.quarter_of(now)
    rows = [
        duty("visited", at_local(2023, 1, 1), last=at_local(2024, 4, 2)),
        duty("missed-last-quarter", at_local(2023, 1, 1), last=at_local(2023, 12, 30)),
        duty("seen-last-quarter", at_local(2023, 1, 1), last=at_local(2024, 2, 2)),
        duty("new", at_local(2024, 2, 1)),
        duty("tagged", at_local(2023, 1, 1), care=at_local(2024, 1, 9), tags=["hardship"]),
    ]
    cov = domain.coverage(rows, q, now)
    assert (cov.households, cov.visited) == (5, 1)
    assert sorted(cov.overdue) == ["missed-last-quarter", "tagged"]
    assert (cov.care_due, cov.care_done) == (1, 1)
    assert cov.days_left == 47


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 800)), max_size=30))
def test_coverage_counts_add_up(spec):
    now = at_local(2024, 8, 10)
    rows = [
        duty(str(i), now - timedelta(days=900), last=(now - timedelta(days=d)) if seen else None)
        for i, (seen, d) in enumerate(spec)
    ]
    cov = domain.coverage(rows, domain.duty_period(2, now), now)
    assert cov.visited + len(cov.overdue) <= cov.households == len(spec)
    assert 0.0 <= cov.share <= 1.0


def test_visit_checks():
    now = datetime(2024, 5, 1, tzinfo=UTC)
    ok = {"household_id": "h", "kind": "routine", "occurred_at": now.isoformat()}
    assert visits.problems(ok, now) == {}
    assert "kind" in visits.problems({**ok, "kind": "x"}, now)
    future = (now + timedelta(hours=1)).isoformat()
    assert visits.problems({**ok, "occurred_at": future}, now) == {"occurred_at": "in the future"}
    assert "occurred_at" in visits.problems({**ok, "occurred_at": "2024-05-01T10:00"}, now)
    assert "findings.gossip" in visits.problems({**ok, "findings": {"gossip": []}}, now)
