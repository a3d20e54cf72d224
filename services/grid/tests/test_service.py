"""The service's entrypoints with nameko's worker_factory: fakes that subclass the real
storage (in memory), a recording outbox and a settable clock."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from contracts.errors import Conflict, IdempotencyConflict, NotFound, ValidationFailed
from contracts.grid import GRID_CHANGED, HOUSEHOLD_CHANGED, STAFF_ASSIGNED, VISIT_LOGGED
from services.grid import domain
from services.grid.locating import GridIndex
from services.grid.service import GridService
from services.grid.storage import GridStore
from services.grid.synthetic import quad_geojson
from services.kit.clock import SettableClock
from services.kit.commands import body_digest
from services.kit.outbox import OutboxWriter

V = "330424001001"
L1, L2, L3 = f"{V}-001", f"{V}-001-01", f"{V}-001-01-01"
SCOPES, WORKER = [L1], ["grid_worker"]


class FakeGridStore(GridStore):
    """GridStore's verbs over dicts: no database, same answers."""

    def __init__(self):  # no client, no db
        self.grids_: dict[str, dict] = {}
        self.divisions_: dict[str, dict] = {}
        self.households_: dict[str, dict] = {}
        self.posts_: dict[str, dict] = {}
        self.visits_: list[dict] = []
        self.audit_: list[dict] = []
        self.commands_: dict[str, dict] = {}

    def ping(self):
        return None

    def transaction(self, work):
        return work(None)

    def run_command(self, kind, client_id, body, execute):
        key, digest = f"{kind}:{client_id}", body_digest(body)
        if key in self.commands_:
            if self.commands_[key]["digest"] != digest:
                raise IdempotencyConflict(details={"client_id": client_id})
            return self.commands_[key]["result"]
        result = execute(None)
        self.commands_[key] = {"digest": digest, "result": result}
        return result

    def division(self, code, session=None):
        return self.divisions_.get(code)

    def grid(self, code, session=None):
        return copy.deepcopy(self.grids_.get(code))

    def grids_by_codes(self, codes, session=None):
        return {c: copy.deepcopy(self.grids_[c]) for c in codes if c in self.grids_}

    def grids_under(self, prefix, level=None, retired=False, session=None):
        return [
            copy.deepcopy(g)
            for c, g in sorted(self.grids_.items())
            if c.startswith(prefix) and (level is None or g["level"] == level)
        ]

    def children(self, parent, session=None):
        return [copy.deepcopy(g) for c, g in sorted(self.grids_.items()) if g["parent"] == parent]

    def insert_grid(self, doc, session=None):
        self.grids_[doc["_id"]] = copy.deepcopy(doc)
        return doc

    def update_grid(self, code, version, changes, session=None):
        g = self.grids_.get(code)
        if g is None or g["version"] != version:
            return None
        g.update(copy.deepcopy(changes))
        g["version"] += 1
        return copy.deepcopy(g)

    def household(self, household_id, session=None):
        return copy.deepcopy(self.households_.get(household_id))

    def insert_household(self, doc, session=None):
        self.households_[doc["_id"]] = copy.deepcopy(doc)
        return doc

    def update_household(self, household_id, version, changes, session=None):
        h = self.households_.get(household_id)
        if h is None or h["version"] != version:
            return None
        h.update(copy.deepcopy(changes))
        h["version"] += 1
        return copy.deepcopy(h)

    def mark_visited(self, household_id, at, care, session=None):
        h = self.households_[household_id]
        h["last_visit_at"] = domain.latest(h.get("last_visit_at"), at)
        if care:
            h["last_care_at"] = domain.latest(h.get("last_care_at"), at)

    def duty_rows(self, prefix):
        return [
            copy.deepcopy(h) for h in self.households_.values() if h["grid_code"].startswith(prefix)
        ]

    def insert_visit(self, doc, session=None):
        self.visits_.append(copy.deepcopy(doc))
        return doc

    def count_visits(self, query):
        return sum(
            1
            for v in self.visits_
            if v["worker_id"] == query["worker_id"]
            and v["grid_code"].startswith(query["grid_code"]["$gte"])
            and v["occurred_at"] >= query["occurred_at"]["$gte"]
        )

    def put_post(self, doc, session=None):
        change = "unchanged" if self.posts_.get(doc["_id"]) == doc else "created"
        self.posts_[doc["_id"]] = copy.deepcopy(doc)
        return change

    def post(self, post_id, session=None):
        return copy.deepcopy(self.posts_.get(post_id))

    def posts_of_grid(self, code, session=None):
        return [copy.deepcopy(p) for k, p in sorted(self.posts_.items()) if p["grid_code"] == code]

    def posts_of_grids(self, codes):
        return [copy.deepcopy(p) for k, p in sorted(self.posts_.items()) if p["grid_code"] in codes]

    def posts_of_user(self, user_id):
        return [copy.deepcopy(p) for p in self.posts_.values() if p["user_id"] == user_id]

    def set_absent(self, grid_code, user_id, absent, session=None):
        for p in self.posts_.values():
            if (p["grid_code"], p["user_id"]) == (grid_code, user_id):
                p["absent"] = absent
        return 1

    def write_audit(self, entry):
        self.audit_.append(entry)


class RecordingOutbox(OutboxWriter):
    def __init__(self):  # no collection: events are kept in a list
        self.events: list[tuple[str, dict]] = []

    def record(self, session, event_type, payload, version=1):
        self.events.append((event_type, payload))
        return {"type": event_type, "payload": payload}

    def wake(self):
        return None

    def of(self, event_type):
        return [p for t, p in self.events if t == event_type]


NOW = datetime(2024, 5, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def service():
    store = FakeGridStore()
    store.divisions_[V] = {"_id": V, "name": "海兴社区"}
    index = GridIndex()
    index.ready.send(True)
    svc = worker_factory(
        GridService,
        store=store,
        outbox=RecordingOutbox(),
        clock=SettableClock(NOW),
        grid_index=index,
        config={"GRID_ID_KEY": "test-key"},
    )
    box = lambda w, e: quad_geojson([(w, 30.52), (e, 30.52), (e, 30.523), (w, 30.523)])  # noqa: E731
    svc.create_grid({"code": L1, "name": "一网格", "boundary": box(120.940, 120.943)}, "g1")
    svc.create_grid({"code": L2, "name": "1幢", "boundary": box(120.940, 120.9415)}, "g2")
    svc.create_grid({"code": L3, "name": "1幢1单元", "boundary": box(120.940, 120.941)}, "g3")
    for user, grid, post, ab in (
        ("lead", L1, "grid_leader", None),
        ("a", L2, "full_time_worker", "A"),
        ("b", L2, "part_time_worker", "B"),
    ):
        svc.assign_post(
            {"grid_code": grid, "user_id": user, "post": post, "ab": ab, "display_name": user}
        )
    return svc


def a_household(room="101", **over):
    first17 = "33042419800101001"
    data = {
        "grid_code": L3,
        "address": {"building": "1", "unit": "1", "room": room},
        "members": [
            {
                "name": "张伟",
                "relation": "head",
                "id_number": first17 + domain.id_check_char(first17),
                "phone": "13912345678",
            }
        ],
        "housing": {"tenure": "owned"},
        "tags": ["elderly_alone"],
    }
    data.update(over)
    return data


def test_grid_changes_are_recorded_and_indexed(service):
    assert [p["code"] for p in service.outbox.of(GRID_CHANGED)] == [L1, L2, L3]
    assert service.locate(120.9405, 30.521)["code"] == L3
    assert [p["change"] for p in service.outbox.of(STAFF_ASSIGNED)] == ["assigned"] * 3


def test_create_household_once_per_client_id(service):
    h = service.create_household(a_household(), "c-1", "a", WORKER, SCOPES)
    assert service.create_household(a_household(), "c-1", "a", WORKER, SCOPES)["id"] == h["id"]
    with pytest.raises(IdempotencyConflict):
        service.create_household(a_household("102"), "c-1", "a", WORKER, SCOPES)
    assert len(service.outbox.of(HOUSEHOLD_CHANGED)) == 1
    stored = service.store.households_[h["id"]]
    assert "330424198001010012" not in str(stored)  # only the keyed hash and masked form


def test_scope_and_masking(service):
    h = service.create_household(a_household(), "c-1", "a", WORKER, SCOPES)
    with pytest.raises(NotFound):
        service.get_household(h["id"], "x", WORKER, [f"{V}-002"])
    audits = len(service.store.audit_)
    seen = service.get_household(h["id"], "i", ["instructor"], [V])
    assert seen["members"][0]["phone"] == "139****5678"
    assert len(service.store.audit_) == audits  # masked reads are not audited
    service.get_household(h["id"], "lead", ["grid_leader"], SCOPES)
    assert service.store.audit_[-1]["kind"] == "household_unmasked"
    assert service.store.audit_[-1]["actor"] == "lead"


def test_stale_update_is_a_conflict_with_the_current_record(service):
    h = service.create_household(a_household(), "c-1", "a", WORKER, SCOPES)
    service.update_household(h["id"], {"note": "first"}, 1, "a", WORKER, SCOPES)
    with pytest.raises(Conflict) as stale:
        service.update_household(h["id"], {"note": "second"}, 1, "b", WORKER, SCOPES)
    assert stale.value.details["current"]["note"] == "first"
    assert stale.value.details["current"]["version"] == 2
    # moving it to a grid that does not exist: refused, nothing changed
    with pytest.raises(ValidationFailed):
        service.update_household(h["id"], {"grid_code": f"{L1}-07"}, 2, "a", WORKER, SCOPES)
    assert service.store.households_[h["id"]]["grid_code"] == L3


def test_visit_event_and_quarterly_coverage(service):
    h = service.create_household(a_household(), "c-1", "a", WORKER, SCOPES)
    service.log_visit({"household_id": h["id"], "kind": "care"}, "v-1", "a", WORKER, SCOPES)
    (event,) = service.outbox.of(VISIT_LOGGED)
    assert set(event) == {
        "visit_id",
        "household_id",
        "grid_code",
        "worker_user_id",
        "kind",
        "occurred_at",
    }
    assert (event["grid_code"], event["worker_user_id"]) == (L3, "a")
    cov = service.grid_coverage(L2, SCOPES)
    assert (cov["period"], cov["visited"], cov["care_done"], cov["days_left"]) == (
        "2024Q2",
        1,
        1,
        47,
    )
    level1 = service.grid_coverage(L1, SCOPES)
    assert (level1["period"], level1["visited"]) == ("2024", 1)
    # next quarter: the visit no longer counts for level 2/3; level 1 is yearly
    service.clock.set(datetime(2024, 7, 1, 0, 0, tzinfo=domain.LOCAL))
    assert service.grid_coverage(L2, SCOPES)["visited"] == 0
    assert service.grid_coverage(L1, SCOPES)["visited"] == 1
    mine = {g["code"]: g["coverage"] for g in service.my_grids("a", SCOPES)}
    assert mine[L2]["visits_by_me"] == 0 and mine[L2]["period"] == "2024Q3"


def test_overdue_after_a_missed_quarter(service):
    h = service.create_household(a_household(), "c-1", "a", WORKER, SCOPES)
    service.clock.advance(timedelta(days=230))  # the next quarter but one
    cov = service.grid_coverage(L3, SCOPES)
    assert cov["overdue"] == 1 and cov["overdue_households"][0]["id"] == h["id"]
    assert cov["overdue_households"][0]["label"] == "1幢1单元101室"


def test_b_takes_over_while_a_is_absent(service):
    assert service.on_duty(L3)["user_id"] == "a"
    assert service.set_absent(L2, "a", True)["user_id"] == "b"
    assert service.outbox.of(STAFF_ASSIGNED)[-1]["change"] == "absent"
    service.set_absent(L2, "b", True)
    assert service.on_duty(L3)["user_id"] == "lead"
    with pytest.raises(NotFound):
        service.set_absent(L2, "nobody", True)


def test_bad_input_is_refused_with_the_field_named(service):
    with pytest.raises(ValidationFailed) as err:
        service.create_household(
            a_household(housing={"tenure": "rented"}), "c-2", "a", WORKER, SCOPES
        )
    assert "housing.landlord" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.log_visit({"household_id": "h", "kind": "tea"}, "v-9", "a", WORKER, SCOPES)
    assert "kind" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.locate(200, 30)
    assert "point" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.assign_post({"grid_code": L1, "user_id": "z", "post": "boss"})
    assert "post" in err.value.details
