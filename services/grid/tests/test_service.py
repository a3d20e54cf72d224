"""The service's entrypoints with nameko's worker_factory: fakes that subclass the real
storage (in memory), a recording outbox and a settable clock."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory

from contracts.caller import Caller
from contracts.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    IdempotencyConflict,
    NotFound,
    ValidationFailed,
)
from contracts.events import payload_problems
from contracts.grid import (
    GRID_CHANGED,
    HOUSEHOLD_CHANGED,
    STAFF_ASSIGNED,
    VISIT_LOGGED,
    VISIT_VOIDED,
    VISITS_OVERDUE,
)
from services.grid import domain
from services.grid.importing.importer import Importer
from services.grid.locating import GridIndex
from services.grid.service import GridService
from services.grid.storage import Registry
from services.grid.synthetic import quad_geojson
from services.grid.vault import Vault
from services.grid.visits import Listing
from services.kit.clock import SettableClock
from services.kit.commands import body_digest
from services.kit.outbox import EventDrift, OutboxWriter
from services.kit.sealing import Keyring

TRUSTED = Caller.trusted("cases")
PUBLIC = Caller.trusted("gateway")  # the public notice board sees every grid

V = "330424001001"
L1, L2, L3 = f"{V}-001", f"{V}-001-01", f"{V}-001-01-01"
OTHER = f"{V}-002"  # a neighbouring level-1 grid
SCOPES, WORKER = [L1], ["grid_worker"]
ADMIN = [V]  # a community admin's scopes


def who(scopes, actor: str = "x", roles=()) -> Caller:
    """The caller an RPC acts for: scopes, then (optionally) who and in which roles."""
    return Caller(actor, tuple(roles), tuple(scopes))


class FakeGridStore:
    """The storage Registry's verbs over dicts: no database, same answers."""

    def __init__(self):  # no client, no db
        self.grids_: dict[str, dict] = {}
        self.divisions_: dict[str, dict] = {}
        self.households_: dict[str, dict] = {}
        self.posts_: dict[str, dict] = {}
        self.places_: dict[str, dict] = {}
        self.reserve_: dict[str, dict] = {}
        self.party_units_: dict[str, dict] = {}
        self.party_links_: dict[str, dict] = {}
        self.imports_: dict[str, dict] = {}
        self.outbox_: list[dict] = []
        self.visits_: dict[str, dict] = {}
        self.jobs_: dict[str, dict] = {}
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

    def divisions_by_codes(self, codes, session=None):
        return {c for c in codes if c in self.divisions_}

    def divisions_under(self, prefix=None):
        return [copy.deepcopy(d) for c, d in sorted(self.divisions_.items())]

    def put_division(self, doc, session=None):
        change = "updated" if doc["_id"] in self.divisions_ else "created"
        self.divisions_[doc["_id"]] = copy.deepcopy(doc)
        return change

    def grids_by_codes(self, codes, session=None):
        return {c: copy.deepcopy(self.grids_[c]) for c in codes if c in self.grids_}

    def grids_under(self, prefix, level=None, session=None):
        return [
            copy.deepcopy(g)
            for c, g in sorted(self.grids_.items())
            if c.startswith(prefix)
            and (level is None or g["level"] == level)
            and not g.get("retired")
        ]

    def children(self, parent, session=None):
        return [
            copy.deepcopy(g)
            for c, g in sorted(self.grids_.items())
            if g["parent"] == parent and not g.get("retired")
        ]

    # versioned records: what the real store's _insert and _replace do, over dicts
    @staticmethod
    def _insert(records: dict, docs: list) -> None:
        for doc in docs:
            if doc["_id"] in records:
                raise AlreadyExists(details={"id": doc["_id"]})
            records[doc["_id"]] = copy.deepcopy(doc)

    @staticmethod
    def _replace(records: dict, docs: list) -> list:
        stale = [
            d["_id"] for d in docs if records.get(d["_id"], {}).get("version") != d["version"] - 1
        ]
        if not stale:
            for doc in docs:
                records[doc["_id"]] = copy.deepcopy(doc)
        return stale

    def households_by_ids(self, ids):
        return {i: copy.deepcopy(self.households_[i]) for i in ids if i in self.households_}

    def mark_visited(self, household_id, at, care, session=None):
        h = self.households_[household_id]
        h["last_visit_at"] = domain.latest(h.get("last_visit_at"), at)
        if care:
            h["last_care_at"] = domain.latest(h.get("last_care_at"), at)

    def duty_rows(self, prefix):
        return [
            copy.deepcopy(h) for h in self.households_.values() if h["grid_code"].startswith(prefix)
        ]

    def visits_of(self, listing, limit):
        found = [
            v
            for v in self.visits_.values()
            if not v.get("voided")
            and v["household_id"] == (listing.household_id or v["household_id"])
            and v["worker_id"] == (listing.worker_id or v["worker_id"])
            and v["grid_code"].startswith(listing.grid_prefix or "")
        ]
        found.sort(key=lambda v: v["occurred_at"], reverse=True)
        return copy.deepcopy(found[:limit])

    def count_visits(self, worker_id, grid_prefix, since):
        return len(
            [
                v
                for v in self.visits_of(Listing(None, worker_id, grid_prefix), 10**6)
                if v["occurred_at"] >= since
            ]
        )

    def last_visits(self, household_id, session):
        mine = self.visits_of(Listing(household_id), 10**6)
        care = [v for v in mine if v["kind"] == "care"]
        return (mine[0]["occurred_at"] if mine else None, care[0]["occurred_at"] if care else None)

    def set_last_visits(self, household_id, last, care, session):
        self.households_[household_id].update(last_visit_at=last, last_care_at=care)

    def villages(self):
        return [c for c in self.divisions_ if len(c) == 12]

    def claim_job(self, job_id, now, stale_after):
        job = self.jobs_.get(job_id)
        if job is None:
            job = self.jobs_[job_id] = {
                "_id": job_id,
                "claimed_at": now,
                "after": "",
                "done": False,
            }
            return copy.deepcopy(job)
        if job["done"] or job["claimed_at"] >= now - stale_after:
            return None
        job["claimed_at"] = now
        return copy.deepcopy(job)

    def advance_job(self, job_id, after, session, done=False):
        self.jobs_[job_id].update(after=after, done=done)

    def posts_by_ids(self, ids, session=None):
        return {i: copy.deepcopy(self.posts_[i]) for i in ids if i in self.posts_}

    def posts_of_grid(self, code, session=None):
        return [copy.deepcopy(p) for k, p in sorted(self.posts_.items()) if p["grid_code"] == code]

    def posts_of_grids(self, codes):
        return [copy.deepcopy(p) for k, p in sorted(self.posts_.items()) if p["grid_code"] in codes]

    def posts_of_user(self, user_id):
        return [copy.deepcopy(p) for p in self.posts_.values() if p["user_id"] == user_id]

    def write_audit(self, entry):
        self.audit_.append({"_id": f"a{len(self.audit_)}", **entry})

    def audit_entries(self, prefix, kind, actor, limit):
        found = [a for a in self.audit_ if a["scope"].startswith(prefix)]
        found = [a for a in found if a["kind"] == (kind or a["kind"])]
        found = [a for a in found if a["actor"] == (actor or a["actor"])]
        return copy.deepcopy(found[::-1][:limit])

    def posts_under(self, prefix, session=None):
        return [
            copy.deepcopy(p)
            for k, p in sorted(self.posts_.items())
            if p["grid_code"].startswith(prefix)
        ]

    def delete_post(self, post_id, session=None):
        return self.posts_.pop(post_id, None) is not None

    def household_grid_codes(self, prefix):
        return [
            h["grid_code"] for h in self.households_.values() if h["grid_code"].startswith(prefix)
        ]

    def households_by_id_hash(self, id_hash, scopes):
        return [
            copy.deepcopy(h)
            for h in self.households_.values()
            if any(m.get("id_hash") == id_hash for m in h["members"])
            and any(h["grid_code"].startswith(s) for s in scopes if s)
        ]

    def households_by_keys(self, keys, session=None):
        wanted = set(keys)
        return {
            h["address_key"]: copy.deepcopy(h)
            for h in self.households_.values()
            if h["address_key"] in wanted
        }

    # places, reserve team, party overlay
    def places_by_keys(self, keys, session=None):
        return {
            p["place_key"]: copy.deepcopy(p)
            for p in self.places_.values()
            if p["place_key"] in keys
        }

    def places_under(self, prefix, kind=None, limit=500):
        found = [p for k, p in sorted(self.places_.items()) if p["grid_code"].startswith(prefix)]
        return copy.deepcopy([p for p in found if kind in (None, p["kind"])][: limit or None])

    def search_households(self, prefixes, search, limit, skip):
        found = [
            h
            for h in self.duty_rows("")
            if any(h["grid_code"].startswith(p) for p in prefixes)
            and (not search.name or any(n.startswith(search.name) for n in h["names"]))
            and (not search.tag or search.tag in h["tags"])
            and (not search.building or h["address"]["building"] == search.building)
        ]
        found.sort(key=lambda h: (h["grid_code"], h["address_key"]))
        return found[skip : skip + limit]

    def households_in(self, prefix, session=None):
        return iter(sorted(self.duty_rows(prefix), key=lambda h: h["address_key"]))

    def reserve_of(self, code):
        return [copy.deepcopy(r) for r in self.reserve_.values() if r["grid_code"] == code]

    def delete_reserve(self, member_id, session=None):
        return self.reserve_.pop(member_id, None) is not None

    def party_units_under(self, prefix):
        return [
            copy.deepcopy(u) for c, u in sorted(self.party_units_.items()) if c.startswith(prefix)
        ]

    def delete_party_link(self, link_id, session=None):
        return self.party_links_.pop(link_id, None) is not None

    def party_links_under(self, prefix):
        return [
            copy.deepcopy(link)
            for k, link in sorted(self.party_links_.items())
            if link["grid_code"].startswith(prefix)
        ]

    # imports: the Importer writes in bulk
    def import_record(self, digest):
        return self.imports_.get(digest)

    def record_import(self, doc, session=None):
        self.imports_[doc["_id"]] = copy.deepcopy(doc)


def _record_verbs(records: str):
    """Reading one record, inserting and replacing versions: alike for every kind."""

    def read(self, record_id, session=None):
        return copy.deepcopy(getattr(self, records).get(record_id))

    def insert(self, docs, session):
        self._insert(getattr(self, records), docs)

    def replace(self, docs, session):
        return self._replace(getattr(self, records), docs)

    return read, insert, replace


for _one, _many, _records in (
    ("grid", "grids", "grids_"),
    ("household", "households", "households_"),
    ("place", "places", "places_"),
    ("post", "posts", "posts_"),
    ("visit", "visits", "visits_"),
    ("reserve_member", "reserve", "reserve_"),
    ("party_unit", "party_units", "party_units_"),
    ("party_link", "party_links", "party_links_"),
):
    _read, _insert, _replace = _record_verbs(_records)
    setattr(FakeGridStore, _one, _read)
    setattr(FakeGridStore, f"insert_{_many}", _insert)
    setattr(FakeGridStore, f"replace_{_many}", _replace)


class RecordingOutbox(OutboxWriter):
    """Keeps events in a list; each payload must fit its contract schema, as in the kit."""

    def __init__(self):  # no collection
        self.events: list[tuple[str, dict]] = []

    def record_many(self, session, event_type, payloads, version=1):
        recorded = []
        for payload in payloads:
            problems = payload_problems(event_type, payload)
            if problems:
                raise EventDrift(f"{event_type}: {problems}")
            self.events.append((event_type, payload))
            recorded.append({"type": event_type, "payload": payload})
        return recorded

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
        vault=Vault(b"test-key", Keyring.generate("k-test")),
    )
    box = lambda w, e: quad_geojson([(w, 30.52), (e, 30.52), (e, 30.523), (w, 30.523)])  # noqa: E731
    admin = who(ADMIN, "admin")
    svc.create_grid(
        {"code": L1, "name": "一网格", "boundary": box(120.940, 120.943)}, "g1", caller=admin
    )
    svc.create_grid(
        {"code": L2, "name": "1幢", "boundary": box(120.940, 120.9415)}, "g2", caller=admin
    )
    svc.create_grid(
        {"code": L3, "name": "1幢1单元", "boundary": box(120.940, 120.941)}, "g3", caller=admin
    )
    for user, grid, post, ab in (
        ("lead", L1, "grid_leader", None),
        ("a", L2, "full_time_worker", "A"),
        ("b", L2, "part_time_worker", "B"),
    ):
        svc.assign_post(
            {"grid_code": grid, "user_id": user, "post": post, "ab": ab, "display_name": user},
            caller=who(ADMIN),
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
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    assert (
        service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))["id"]
        == h["id"]
    )
    with pytest.raises(IdempotencyConflict):
        service.create_household(a_household("102"), "c-1", caller=who(SCOPES, "a", WORKER))
    assert len(service.outbox.of(HOUSEHOLD_CHANGED)) == 1
    stored = service.store.households_[h["id"]]
    assert "330424198001010012" not in str(stored)  # only the keyed hash and masked form


def test_scope_and_masking(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    with pytest.raises(NotFound):
        service.get_household(h["id"], caller=who([f"{V}-002"], "x", WORKER))
    audits = len(service.store.audit_)
    seen = service.get_household(h["id"], caller=who([V], "i", ["instructor"]))
    assert seen["members"][0]["phone"] == "139****5678"
    assert len(service.store.audit_) == audits  # masked reads are not audited
    service.get_household(h["id"], caller=who(SCOPES, "lead", ["grid_leader"]))
    assert service.store.audit_[-1]["kind"] == "household_unmasked"
    assert service.store.audit_[-1]["actor"] == "lead"


def test_stale_update_is_a_conflict_with_the_current_record(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    service.update_household(h["id"], {"note": "first"}, 1, caller=who(SCOPES, "a", WORKER))
    with pytest.raises(Conflict) as stale:
        service.update_household(h["id"], {"note": "second"}, 1, caller=who(SCOPES, "b", WORKER))
    assert stale.value.details["current"]["note"] == "first"
    assert stale.value.details["current"]["version"] == 2
    # moving it to a grid that does not exist: refused, nothing changed
    with pytest.raises(ValidationFailed):
        service.update_household(
            h["id"], {"grid_code": f"{L1}-07"}, 2, caller=who(SCOPES, "a", WORKER)
        )
    assert service.store.households_[h["id"]]["grid_code"] == L3


def test_visit_event_and_quarterly_coverage(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    service.log_visit(
        {"household_id": h["id"], "kind": "care"}, "v-1", caller=who(SCOPES, "a", WORKER)
    )
    (event,) = service.outbox.of(VISIT_LOGGED)
    assert set(event) == {
        "visit_id",
        "household_id",
        "grid_code",
        "worker_user_id",
        "kind",
        "occurred_at",
        "actor",  # every event says who made the change (DESIGN §8)
    }
    assert (event["grid_code"], event["worker_user_id"], event["actor"]) == (L3, "a", "a")
    cov = service.grid_coverage(L2, caller=who(SCOPES))
    assert (cov["period"], cov["visited"], cov["care_done"], cov["days_left"]) == (
        "2024Q2",
        1,
        1,
        47,
    )
    level1 = service.grid_coverage(L1, caller=who(SCOPES))
    assert (level1["period"], level1["visited"]) == ("2024", 1)
    # next quarter: the visit no longer counts for level 2/3; level 1 is yearly
    service.clock.set(datetime(2024, 7, 1, 0, 0, tzinfo=domain.LOCAL))
    assert service.grid_coverage(L2, caller=who(SCOPES))["visited"] == 0
    assert service.grid_coverage(L1, caller=who(SCOPES))["visited"] == 1
    mine = {g["code"]: g["coverage"] for g in service.my_grids(caller=who(SCOPES, "a"))}
    assert mine[L2]["visits_by_me"] == 0 and mine[L2]["period"] == "2024Q3"


def test_overdue_after_a_missed_quarter(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    service.clock.advance(timedelta(days=230))  # the next quarter but one
    cov = service.grid_coverage(L3, caller=who(SCOPES))
    assert cov["overdue"] == 1 and cov["overdue_households"][0]["id"] == h["id"]
    assert cov["overdue_households"][0]["label"] == "1幢1单元101室"


def test_b_takes_over_while_a_is_absent(service):
    assert service.on_duty(L3, caller=TRUSTED)["user_id"] == "a"
    assert service.set_absent(L2, "a", True, caller=who(SCOPES))["user_id"] == "b"
    assert service.outbox.of(STAFF_ASSIGNED)[-1]["change"] == "absent"
    service.set_absent(L2, "b", True, caller=who(SCOPES))
    assert service.on_duty(L3, caller=TRUSTED)["user_id"] == "lead"
    with pytest.raises(NotFound):
        service.set_absent(L2, "nobody", True, caller=who(SCOPES))


def test_bad_input_is_refused_with_the_field_named(service):
    with pytest.raises(ValidationFailed) as err:
        service.create_household(
            a_household(housing={"tenure": "rented"}), "c-2", caller=who(SCOPES, "a", WORKER)
        )
    assert "housing.landlord" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.log_visit(
            {"household_id": "h", "kind": "tea"}, "v-9", caller=who(SCOPES, "a", WORKER)
        )
    assert "kind" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.locate(200, 30)
    assert "point" in err.value.details
    with pytest.raises(ValidationFailed) as err:
        service.assign_post({"grid_code": L1, "user_id": "z", "post": "boss"}, caller=who(ADMIN))
    assert "post" in err.value.details


# --- scope in the service itself (defence in depth behind the gateway) ---------------------
def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode()


def test_import_rows_outside_scope_are_rejected_and_nothing_written(service):
    text = (
        "grid_code,building,unit,room,name,relation\n"
        f"{L3},1,1,501,张三,户主\n"
        f"{OTHER},1,1,1,李四,户主\n"
        f"{OTHER},1,1,1,李小四,子女\n"
    )
    events = len(service.outbox.events)
    for dry_run in (False, True):
        with pytest.raises(ValidationFailed) as refused:
            service.import_file(
                "households", "h.csv", b64(text), dry_run, caller=who(SCOPES, "admin")
            )
        report = refused.value.details
        assert [r["row"] for r in report["bad_rows"]] == [3, 4]  # each member row named
        assert all("outside your scopes" in r["problems"]["grid_code"] for r in report["bad_rows"])
        assert (report["rows"], report["bad_row_count"], report["applied"]) == (3, 2, False)
    assert service.store.households_ == {} and service.store.outbox_ == []
    assert len(service.outbox.events) == events
    # no scopes at all: every row is outside
    with pytest.raises(ValidationFailed) as refused:
        service.import_file("households", "h.csv", b64(text), caller=who([]))
    assert refused.value.details["bad_row_count"] == 3
    # in scope, the file is judged as before (the other grid does not exist) …
    with pytest.raises(ValidationFailed) as judged:
        service.import_file("households", "h.csv", b64(text), caller=who(ADMIN))
    assert "there is no grid" in judged.value.details["bad_rows"][0]["problems"]["grid_code"]
    # … and the rows of the caller's grid import
    mine = "\n".join(text.splitlines()[:2]) + "\n"
    report = service.import_file("households", "h.csv", b64(mine), caller=who(SCOPES, "admin"))
    assert (report["applied"], report["created"]) == (True, 1)
    assert [h["grid_code"] for h in service.store.households_.values()] == [L3]


def test_import_of_grids_and_staff_outside_scope_is_refused(service):
    features = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": None, "properties": {"code": f"{L1}-02", "name": "2"}},
            {"type": "Feature", "geometry": None, "properties": {"code": OTHER, "name": "二"}},
        ],
    }
    with pytest.raises(ValidationFailed) as refused:
        service.import_file("grids", "g.geojson", b64(json.dumps(features)), caller=who(SCOPES))
    assert [r["row"] for r in refused.value.details["bad_rows"]] == [2]
    assert set(service.store.grids_) == {L1, L2, L3}
    staff = f"grid_code,user_id,display_name,post\n{OTHER},u9,某人,grid_leader\n"
    with pytest.raises(ValidationFailed) as refused:
        service.import_file("staff", "s.csv", b64(staff), caller=who(SCOPES))
    assert refused.value.details["bad_rows"][0]["row"] == 2
    assert not any(p["grid_code"] == OTHER for p in service.store.posts_.values())


def test_registry_writes_outside_scope_are_refused_and_change_nothing(service):
    elsewhere = [OTHER]
    grids, posts = copy.deepcopy(service.store.grids_), copy.deepcopy(service.store.posts_)
    events = len(service.outbox.events)
    # creating at a code outside the scopes: Forbidden (the gateway's 403)
    with pytest.raises(Forbidden):
        service.create_grid({"code": f"{L1}-02", "name": "2幢"}, "g9", caller=who(elsewhere))
    with pytest.raises(Forbidden):
        service.put_divisions([{"code": V, "name": "改名"}], caller=who(elsewhere))
    with pytest.raises(Forbidden):
        service.create_grid({"code": f"{L1}-02", "name": "2幢"}, "g9", caller=who([]))
    # changing a record outside the scopes: NotFound (the gateway's 404)
    refusals = [
        lambda: service.update_grid(L2, {"name": "x"}, 1, caller=who(elsewhere)),
        lambda: service.retire_grid(L3, 1, caller=who(elsewhere)),
        lambda: service.assign_post(
            {"grid_code": L1, "user_id": "z", "post": "full_time_worker", "display_name": "z"},
            caller=who(elsewhere, "x"),
        ),
        lambda: service.remove_post(L2, "a", "full_time_worker", caller=who(elsewhere, "x")),
        lambda: service.set_absent(L2, "a", True, caller=who(elsewhere, "x")),
        lambda: service.add_reserve_member(
            L1, {"name": "志愿者", "kind": "volunteer"}, caller=who(elsewhere, "x")
        ),
        lambda: service.set_party_unit(
            L1, {"kind": "branch", "name": "支部"}, caller=who(elsewhere, "x")
        ),
        lambda: service.unlink_party_member(L1, "p1", caller=who(elsewhere, "x")),
    ]
    for refuse in refusals:
        with pytest.raises(NotFound):
            refuse()
    assert service.store.grids_ == grids and service.store.posts_ == posts
    assert service.store.reserve_ == {} and service.store.party_units_ == {}
    assert len(service.outbox.events) == events
    # a reserve member on the caller's grid cannot be taken off by a neighbour
    member = service.add_reserve_member(
        L1, {"name": "志愿者", "kind": "volunteer"}, caller=who(SCOPES, "lead")
    )
    with pytest.raises(NotFound):
        service.remove_reserve_member(L1, member["id"], caller=who(elsewhere, "x"))
    service.remove_reserve_member(L1, member["id"], caller=who(SCOPES, "lead"))
    assert service.store.reserve_ == {}
    # in scope the same writes go through
    updated = service.update_grid(L2, {"name": "一号楼"}, 1, caller=who(ADMIN, "admin"))
    assert updated["name"] == "一号楼"


def test_registry_reads_outside_scope_are_not_found(service):
    elsewhere = [OTHER]
    for read in (
        lambda s: service.get_grid(L2, caller=who(s)),
        lambda s: service.grid_geojson(L1, caller=who(s)),
        lambda s: service.grid_cover(L1, caller=who(s)),
        lambda s: service.grid_warnings(V, caller=who(s)),
        lambda s: service.list_posts(L2, caller=who(s)),
        lambda s: service.on_duty(L3, caller=who(s)),
        lambda s: service.notice_board(L3, caller=who(s)),
    ):
        read(ADMIN)  # in scope: answers
        with pytest.raises(NotFound):
            read(elsewhere)
    # trusted internal callers (case dispatch, the public board) pass no scopes
    assert service.on_duty(L3, caller=TRUSTED)["user_id"] == "a"
    assert service.notice_board(L3, caller=PUBLIC)["code"] == L3
    # the audit lists only entries about grids in scope (and ID look-ups, which name none)
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "lead", ["grid_leader"]))
    service.get_household(h["id"], caller=who(SCOPES, "lead", ["grid_leader"]))
    service.find_by_id_number("330424198001010012", caller=who(SCOPES, "lead", ["grid_leader"]))
    kinds = [a["kind"] for a in service.list_audit(caller=who(SCOPES))]
    assert "household_unmasked" in kinds and "id_lookup" in kinds
    # issue 7 §8: a look-up made in SCOPES is SCOPES' business, not the neighbour's (this
    # line once asserted ["id_lookup"]: look-ups named no scope and were shown to everyone)
    assert [a["kind"] for a in service.list_audit(caller=who(elsewhere))] == []


def test_get_place_is_scoped_and_unmasks_by_role(service):
    data = {
        "grid_code": L3,
        "kind": "shop",
        "name": "小卖部",
        "contact": {"person": "店主", "phone": "13700000000"},
    }
    place = service.create_place(data, "p-1", caller=who(SCOPES, "a", WORKER))
    seen = service.get_place(place["id"], caller=who(SCOPES, "a", WORKER))
    assert (seen["name"], seen["contact"]["phone"]) == ("小卖部", "13700000000")
    assert service.store.audit_[-1]["kind"] == "place_unmasked"
    assert service.store.audit_[-1]["record_id"] == place["id"]
    masked = service.get_place(place["id"], caller=who([V], "i", ["instructor"]))
    assert masked["contact"]["phone"] == "137****0000"
    with pytest.raises(NotFound):
        service.get_place(place["id"], caller=who([OTHER], "x", WORKER))
    with pytest.raises(NotFound):
        service.get_place("no-such-place", caller=who(SCOPES, "a", WORKER))


def test_unlink_party_member_removes_their_links(service):
    h = service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    service.link_party_member(
        L1, {"name": "党员甲", "user_id": "p1"}, [h["id"]], caller=who(SCOPES, "lead")
    )
    service.link_party_member(L1, {"name": "党员乙"}, [h["id"]], caller=who(SCOPES, "lead"))
    links = service.party_overlay(L1, caller=who(SCOPES))["links"]
    assert {(link["member"], link["member_key"]) for link in links} == {
        ("党员甲", "p1"),
        ("党员乙", "党员乙"),
    }
    assert service.unlink_party_member(L1, "p1", caller=who(SCOPES, "lead")) == {"removed": True}
    with pytest.raises(NotFound):
        service.unlink_party_member(L1, "p1", caller=who(SCOPES, "lead"))
    service.unlink_party_member(L1, "党员乙", caller=who(SCOPES, "lead"))
    assert service.party_overlay(L1, caller=who(SCOPES))["links"] == []


def test_a_file_over_the_record_limit_is_refused_before_anything_is_written(service):
    rows = "".join(f"{L3},1,1,{room},住户{room},户主\n" for room in range(101, 104))
    text = "grid_code,building,unit,room,name,relation\n" + rows
    importer = Importer(
        service.store, service.outbox, service.clock.now(), service.vault, "admin", max_records=2
    )
    with pytest.raises(ValidationFailed) as refused:
        importer.run("households", "big.csv", text.encode(), caller=who(SCOPES))
    assert refused.value.details["max_records"] == 2
    assert "3 records" in refused.value.details["file"]
    assert service.store.households_ == {} and service.store.outbox_ == []
    importer.max_records = 3
    assert importer.run("households", "big.csv", text.encode(), caller=who(SCOPES))["created"] == 3


def test_the_fake_store_is_a_whole_registry():
    """The fake implements the storage Protocol the service is written against."""
    assert isinstance(FakeGridStore(), Registry)


def test_no_two_parts_of_the_service_define_the_same_name():
    """The RPC mixins share one class: a helper defined twice would silently shadow."""
    parts = [c for c in GridService.__mro__[1:] if c.__module__.startswith("services.grid")]
    seen: dict[str, str] = {}
    for part in parts:
        for name in vars(part):
            if name.startswith("__"):
                continue
            assert name not in seen, f"{name} is defined in {seen[name]} and {part.__name__}"
            seen[name] = part.__name__


# --- striking off a visit, and the daily digest of overdue households --------------------------
def test_a_leader_voids_a_visit_and_the_household_counts_it_no_more(service):
    worker, leader = who(SCOPES, "a", WORKER), who(SCOPES, "lead", ["grid_leader"])
    h = service.create_household(a_household(), "c-1", caller=worker)
    earlier = (NOW - timedelta(days=3)).isoformat()
    care = service.log_visit(
        {"household_id": h["id"], "kind": "care", "occurred_at": earlier}, "v-1", caller=worker
    )
    routine = service.log_visit({"household_id": h["id"], "kind": "routine"}, "v-2", caller=worker)
    assert service.store.households_[h["id"]]["last_visit_at"] > domain.parse_time(earlier)

    with pytest.raises(Forbidden):  # a worker may not strike off visits
        service.void_visit(routine["id"], "记错了", caller=worker)
    with pytest.raises(NotFound):  # nor may a leader elsewhere
        service.void_visit(routine["id"], "记错了", caller=who([OTHER], "x", ["grid_leader"]))
    with pytest.raises(ValidationFailed) as empty:
        service.void_visit(routine["id"], "  ", caller=leader)
    assert "reason" in empty.value.details

    voided = service.void_visit(routine["id"], "误登记", caller=leader)
    assert (voided["voided"]["by"], voided["voided"]["reason"]) == ("lead", "误登记")
    (event,) = service.outbox.of(VISIT_VOIDED)
    assert (event["visit_id"], event["actor"], event["worker_user_id"]) == (
        routine["id"],
        "lead",
        "a",
    )
    stored = service.store.visits_[routine["id"]]
    assert stored["history"][-1]["action"] == "voided" and stored["history"][-1]["by"] == "lead"
    household = service.store.households_[h["id"]]
    assert household["last_visit_at"] == domain.parse_time(earlier)  # worked out again
    assert household["last_care_at"] == domain.parse_time(earlier)
    assert [v["id"] for v in service.list_visits(household_id=h["id"], caller=leader)] == [
        care["id"]
    ]
    # voiding again changes nothing and says nothing twice
    assert service.void_visit(routine["id"], "再来", caller=leader)["voided"]["reason"] == "误登记"
    assert len(service.outbox.of(VISIT_VOIDED)) == 1
    assert service.get_visit(routine["id"], caller=TRUSTED)["voided"]["reason"] == "误登记"


def test_the_overdue_digest_goes_out_once_a_day_per_grid_to_its_posts(service):
    service.create_household(a_household(), "c-1", caller=who(SCOPES, "a", WORKER))
    # two quarters on, 07:00 in Shanghai: too early for the day's digest
    service.clock.set(datetime(2024, 11, 20, 7, 0, tzinfo=domain.LOCAL))
    assert service.send_overdue_digest() == 0
    service.clock.set(datetime(2024, 11, 20, 9, 30, tzinfo=domain.LOCAL))
    assert service.send_overdue_digest() == 2
    sent = {p["grid_code"]: p for p in service.outbox.of(VISITS_OVERDUE)}
    assert set(sent) == {L2, L3}  # the level-1 grid keeps a yearly duty: not in the digest
    assert (sent[L2]["overdue"], sent[L2]["user_ids"], sent[L2]["period"]) == (
        1,
        ["a", "b"],
        "2024Q4",
    )
    assert sent[L3]["user_ids"] == [] and sent[L2]["actor"] == "service:grid"
    assert sent[L2]["days_left"] == 42
    # the same day again (this instance or another): nothing more; the next day: again
    assert service.send_overdue_digest() == 0
    service.clock.advance(timedelta(days=1))
    assert service.send_overdue_digest() == 2
    assert len(service.outbox.of(VISITS_OVERDUE)) == 4


def test_grid_import_rows_are_loaded_through_their_schema_before_the_scope_check(service):
    """Issue 7 §1: `properties` as a list of [key, value] pairs read as "no code" to the
    scope check and as a code to the writer. Now every feature is loaded through its schema
    first; the scope check and the writer read the same loaded value; a malformed feature
    is a bad row (400), never a 500 and never a grid."""
    box = quad_geojson([(120.9405, 30.52), (120.941, 30.52), (120.941, 30.521), (120.9405, 30.521)])
    events = len(service.outbox.events)
    for properties in (
        [["code", OTHER], ["name", "越界网格"]],  # the bypass
        [["code", L2], ["name", "改名"]],  # a rename the same way
        7,
        "330424001001-002",
        True,
        None,
    ):
        feature = {"type": "Feature", "geometry": box, "properties": properties}
        text = json.dumps({"type": "FeatureCollection", "features": [feature]})
        with pytest.raises(ValidationFailed) as refused:
            service.import_file("grids", "g.geojson", b64(text), caller=who(SCOPES))
        (bad,) = refused.value.details["bad_rows"]
        assert bad["row"] == 1 and "properties" in json.dumps(bad["problems"])
    assert OTHER not in service.store.grids_ and service.store.grids_[L2]["name"] == "1幢"
    assert len(service.outbox.events) == events
    # a feature that names no code at all is refused too, not waved through
    nameless = {"type": "Feature", "geometry": box, "properties": {"name": "无编码"}}
    text = json.dumps({"type": "FeatureCollection", "features": [nameless, "not a feature"]})
    with pytest.raises(ValidationFailed) as refused:
        service.import_file("grids", "g.geojson", b64(text), caller=who(SCOPES))
    assert [r["row"] for r in refused.value.details["bad_rows"]] == [1, 2]
    assert "properties.code" in refused.value.details["bad_rows"][0]["problems"]
