"""The grid service in a real container, against the real broker and database."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from contracts.caller import Caller
from contracts.errors import Conflict, IdempotencyConflict, NotFound, ValidationFailed
from services.grid.demo import demo_dataset
from services.grid.service import GridService
from services.grid.synthetic import quad_geojson
from services.kit.sealing import Keyring

TRUSTED = Caller.trusted("cases")
LOADER = Caller.trusted("demo")

pytestmark = pytest.mark.interface

VILLAGE = "330424001001"
L1 = f"{VILLAGE}-001"
L2 = f"{L1}-01"
L3 = f"{L2}-01"
SQUARE = [(120.940, 30.520), (120.943, 30.520), (120.943, 30.523), (120.940, 30.523)]
WORKER = ["grid_worker"]
COUNTY = ["330424"]  # a county admin's scopes
ADMIN = Caller("u-county", ("county_admin",), tuple(COUNTY))


def who(scopes, actor: str = "u-x", roles=()) -> Caller:
    return Caller(actor, tuple(roles), tuple(scopes))


def box(w, s, e, n):
    return quad_geojson([(w, s), (e, s), (e, n), (w, n)])


@pytest.fixture
def grid_config(service_config):
    """The test's config with a data key of its own (no key file under var/)."""
    return {**service_config, "GRID_DATA_KEYS": Keyring.generate("k-one").spec()}


@pytest.fixture
def grid(container_factory, grid_config):
    container = container_factory(GridService, grid_config)
    container.start()
    with ClusterRpcProxy(grid_config, timeout=30) as proxy:
        yield proxy.grid


@pytest.fixture
def small(grid):
    """A village with a level-1 grid, two buildings and one unit, and their staff."""
    grid.put_divisions(
        [
            {"code": "330424", "name": "海盐县"},
            {"code": "330424001", "name": "武原街道"},
            {"code": VILLAGE, "name": "海兴社区"},
        ],
        caller=ADMIN,
    )
    grid.create_grid(
        {"code": L1, "name": "一网格", "boundary": box(120.94, 30.52, 120.943, 30.523)},
        "c1",
        caller=ADMIN,
    )
    grid.create_grid(
        {"code": L2, "name": "1幢", "boundary": box(120.94, 30.52, 120.9415, 30.523)},
        "c2",
        caller=ADMIN,
    )
    grid.create_grid(
        {"code": L3, "name": "1幢1单元", "boundary": box(120.94, 30.52, 120.9415, 30.521)},
        "c3",
        caller=ADMIN,
    )
    for post in (
        {
            "grid_code": L1,
            "user_id": "u-leader",
            "post": "grid_leader",
            "display_name": "王建国",
            "phone": "13800000001",
        },
        {
            "grid_code": L2,
            "user_id": "u-a",
            "post": "full_time_worker",
            "ab": "A",
            "display_name": "李明",
            "phone": "13800000002",
        },
        {
            "grid_code": L2,
            "user_id": "u-b",
            "post": "part_time_worker",
            "ab": "B",
            "display_name": "赵丽",
            "phone": "13800000003",
        },
    ):
        grid.assign_post(post, caller=ADMIN)
    return grid


def household(room: str, grid_code: str = L3, **extra) -> dict:
    return {
        "grid_code": grid_code,
        "address": {"building": "1", "unit": "1", "room": room},
        "members": [
            {
                "name": "张伟",
                "relation": "head",
                "id_number": "330424198001010012",
                "phone": "13912345678",
            },
        ],
        "housing": {"tenure": "owned"},
        "tags": extra.pop("tags", []),
        **extra,
    }


def test_health(grid):
    assert grid.health() == {"service": "grid", "ok": True}


def test_grid_tree_locate_and_refusals(small):
    grid = small
    found = grid.locate(120.9405, 30.5205)
    assert found["code"] == L3
    assert [c["code"] for c in found["chain"]] == [L1, L2, L3]
    assert grid.locate(120.942, 30.5225)["code"] == L1  # no level-2 grid drawn there
    with pytest.raises(NotFound):
        grid.locate(121.5, 31.5)
    # overlapping sibling: refused, names both grids and the overlap, nothing written
    with pytest.raises(ValidationFailed) as refused:
        grid.create_grid(
            {"code": f"{L1}-02", "name": "2幢", "boundary": box(120.941, 30.52, 120.943, 30.523)},
            "c4",
            caller=ADMIN,
        )
    assert (
        f"{L1}-02" in refused.value.details["boundary"] and L2 in refused.value.details["boundary"]
    )
    assert "m²" in refused.value.details["boundary"]
    with pytest.raises(NotFound):
        grid.get_grid(f"{L1}-02", caller=ADMIN)
    # outside the parent; a self-intersecting ring; a code that does not fit its parent
    with pytest.raises(ValidationFailed) as outside:
        grid.create_grid(
            {"code": f"{L1}-03", "name": "3幢", "boundary": box(120.95, 30.52, 120.951, 30.521)},
            "c5",
            caller=ADMIN,
        )
    assert "outside its parent" in outside.value.details["boundary"]
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [120.941, 30.52],
                [120.942, 30.521],
                [120.942, 30.52],
                [120.941, 30.521],
                [120.941, 30.52],
            ]
        ],
    }
    with pytest.raises(ValidationFailed) as crossed:
        grid.create_grid(
            {"code": f"{L1}-04", "name": "4幢", "boundary": bowtie}, "c6", caller=ADMIN
        )
    assert "Self-intersection" in crossed.value.details["boundary"]
    with pytest.raises(ValidationFailed) as misfit:
        grid.create_grid({"code": "330424001001-1", "name": "x"}, "c7", caller=ADMIN)
    assert "code" in misfit.value.details
    # the index follows a change: redraw building 1 smaller, the point falls to level 1
    current = grid.get_grid(L2, caller=ADMIN)
    with pytest.raises(ValidationFailed):  # its unit would stick out
        grid.update_grid(
            L2,
            {"boundary": box(120.94, 30.521, 120.9415, 30.523)},
            current["version"],
            caller=ADMIN,
        )
    grid.update_grid(L2, {"name": "一号楼"}, current["version"], caller=ADMIN)
    with pytest.raises(Conflict):
        grid.update_grid(L2, {"name": "stale"}, current["version"], caller=ADMIN)
    cover = grid.grid_cover(L1, caller=ADMIN)
    assert 0.4 < cover["uncovered_share"] < 0.6
    fc = grid.grid_geojson(L1, caller=ADMIN)
    assert {f["properties"]["code"] for f in fc["features"]} == {L1, L2}


def test_household_scope_masking_versions_and_audit(small):
    grid = small
    scopes = [L1]
    created = grid.create_household(
        household("101", tags=["elderly_alone"]), "h1", caller=who(scopes, "u-a", WORKER)
    )
    assert created["members"][0]["phone"] == "13912345678"  # a worker of the grid needs it
    # issue 7 §2: the county hidden too (was "330424********0012")
    assert created["members"][0]["id_number"] == "33************0012"
    again = grid.create_household(
        household("101", tags=["elderly_alone"]), "h1", caller=who(scopes, "u-a", WORKER)
    )
    assert again["id"] == created["id"]
    with pytest.raises(IdempotencyConflict):
        grid.create_household(household("102"), "h1", caller=who(scopes, "u-a", WORKER))
    # out of scope: 404, never the data
    with pytest.raises(NotFound):
        grid.get_household(created["id"], caller=who(["330424001001-002"], "u-x", WORKER))
    with pytest.raises(NotFound):
        grid.create_household(
            household("103"), "h3", caller=who(["330424001001-002"], "u-x", WORKER)
        )
    # an instructor sees masked phones
    seen = grid.get_household(created["id"], caller=who([VILLAGE], "u-i", ["instructor"]))
    assert seen["members"][0]["phone"] == "139****5678" and seen["masked"] is True
    # stale update: 409 with the current record; a fresh one bumps the version
    edited = grid.update_household(
        created["id"], {"tags": ["elderly_alone", "hardship"]}, 1, caller=who(scopes, "u-a", WORKER)
    )
    assert edited["version"] == 2 and "hardship" in edited["tags"]
    with pytest.raises(Conflict) as stale:
        grid.update_household(created["id"], {"tags": []}, 1, caller=who(scopes, "u-b", WORKER))
    assert stale.value.details["current"]["version"] == 2
    # sending back the masked file keeps the stored phone and ID hash
    masked = grid.get_household(created["id"], caller=who([VILLAGE], "u-i", ["instructor"]))
    grid.update_household(
        created["id"],
        {"members": masked["members"], "note": "复核"},
        2,
        caller=who(scopes, "u-a", WORKER),
    )
    assert (
        grid.find_by_id_number("330424198001010012", caller=who(scopes, "u-a", WORKER))[0]["id"]
        == created["id"]
    )
    assert (
        grid.get_household(created["id"], caller=who(scopes, "u-a", WORKER))["members"][0]["phone"]
        == "13912345678"
    )
    # search by name prefix, tag, building — within scope only
    assert [h["id"] for h in grid.search_households(caller=who(scopes), name="张")] == [
        created["id"]
    ]
    assert grid.search_households(caller=who(scopes), tag="hardship")[0]["head"] == "张伟"
    assert grid.search_households(caller=who(["330424001001-002"]), name="张") == []
    # a household in a grid that does not exist
    with pytest.raises(ValidationFailed) as nogrid:
        grid.create_household(
            household("1", grid_code=f"{L1}-09"), "h9", caller=who(scopes, "u-a", WORKER)
        )
    assert "grid_code" in nogrid.value.details
    kinds = [a["kind"] for a in grid.list_audit(caller=ADMIN)]
    assert "household_unmasked" in kinds and "id_lookup" in kinds


def test_posts_on_duty_visits_and_coverage(small):
    grid = small
    # level 3 has nobody: its parent's A
    assert grid.on_duty(L3, caller=TRUSTED)["user_id"] == "u-a"
    grid.set_absent(L2, "u-a", True, caller=who([L1]))
    duty = grid.on_duty(L3, caller=TRUSTED)
    assert (duty["user_id"], duty["ab"]) == ("u-b", "B")
    grid.set_absent(L2, "u-b", True, caller=who([L1]))
    assert grid.on_duty(L3, caller=TRUSTED)["user_id"] == "u-leader"
    grid.set_absent(L2, "u-a", False, caller=who([L1]))
    board = grid.notice_board(L2, caller=TRUSTED)
    assert {s["name"] for s in board["staff"]} == {"王建国", "李明", "赵丽"}
    assert set(board["staff"][0]) == {
        "grid_code",
        "grid_name",
        "name",
        "post",
        "post_zh",
        "ab",
        "phone",
    }

    h = grid.create_household(household("201"), "h-v", caller=who([L1], "u-a", WORKER))
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    visit = {
        "household_id": h["id"],
        "kind": "routine",
        "occurred_at": when,
        "findings": {"hazards": ["楼道堆物"]},
    }
    first = grid.log_visit(visit, "v-1", caller=who([L1], "u-a", WORKER))
    assert grid.log_visit(visit, "v-1", caller=who([L1], "u-a", WORKER))["id"] == first["id"]
    with pytest.raises(IdempotencyConflict):
        grid.log_visit({**visit, "kind": "care"}, "v-1", caller=who([L1], "u-a", WORKER))
    with pytest.raises(ValidationFailed):
        grid.log_visit({**visit, "kind": "party"}, "v-2", caller=who([L1], "u-a", WORKER))
    assert len(grid.list_visits(caller=who([L1]), household_id=h["id"])) == 1
    cov = grid.grid_coverage(L2, caller=who([L1]))
    assert (cov["households"], cov["visited"], cov["share"]) == (1, 1, 1.0)
    assert 1 <= cov["days_left"] <= 92
    mine = {g["code"]: g for g in grid.my_grids(caller=who([L1], "u-a"))}
    assert mine[L2]["coverage"]["visits_by_me"] == 1
    board = grid.duty_board(L1, caller=who([L1]))
    assert {g["code"] for g in board["grids"]} == {L1, L2, L3}
    rules = {(w["code"], w["rule"]) for w in grid.grid_warnings(VILLAGE, caller=ADMIN)}
    assert (L1, "level1_too_small") in rules and (L3, "no_b_post") in rules


def test_import_report_all_or_nothing_and_idempotent(small):
    grid = small
    header = "网格编码,楼栋,单元,房号,住房性质,标签,姓名,与户主关系,身份证号,手机号\n"
    good = header + f"{L3},1,1,301,自有,独居老人,钱多多,户主,330424195001010019,13700000001\n"
    good += f"{L3},1,1,302,租住,,孙红,户主,,\n"  # rented without a landlord: bad
    good += (
        f"{L3},1,1,303,自有,,周一,户主,330424195001010017,1370000000\n"  # bad check digit, phone
    )
    content = base64.b64encode(good.encode("gbk")).decode()
    with pytest.raises(ValidationFailed) as bad:
        grid.import_file("households", "户.csv", content, caller=who([L1]))
    rows = {r["row"]: r["problems"] for r in bad.value.details["bad_rows"]}
    assert set(rows) == {3, 4} and "housing.landlord" in rows[3]
    assert set(rows[4]) == {"members[0].id_number", "members[0].phone"}
    assert grid.search_households(caller=who([L1])) == []  # nothing written
    fixed = good.replace(",租住,,孙红", ",租住,,孙红").splitlines()[:2]
    fixed.append(f"{L3},1,1,303,自有,,周一,户主,330424195001010027,13700000002")
    content = base64.b64encode(("\ufeff" + "\n".join(fixed) + "\n").encode("utf-8")).decode()
    # a neighbouring grid's admin may not import it: every row named, nothing written
    with pytest.raises(ValidationFailed) as outside:
        grid.import_file("households", "户.csv", content, caller=who([f"{VILLAGE}-002"]))
    assert [r["row"] for r in outside.value.details["bad_rows"]] == [2, 3]
    assert grid.search_households(caller=who([L1])) == []
    report = grid.import_file("households", "户.csv", content, caller=who([L1]))
    assert (report["encoding"], report["created"]) == ("utf-8-sig", 2)
    again = grid.import_file("households", "户.csv", content, caller=who([L1]))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    with pytest.raises(ValidationFailed) as columns:
        grid.import_file(
            "households", "x.csv", base64.b64encode(b"a,b\n1,2\n").decode(), caller=who([L1])
        )
    assert "missing_columns" in columns.value.details["columns"]
    # export as XLSX, import it again: nothing changes
    out = grid.export_file("households", "xlsx", L1, caller=who([L1], "u-leader", ["grid_leader"]))
    assert out["rows"] == 2
    back = grid.import_file("households", out["filename"], out["content_b64"], caller=who([L1]))
    assert (back["created"], back["updated"], back["unchanged"]) == (0, 0, 2)


def test_demo_dataset_loads_twice_without_change(grid):
    dataset = demo_dataset()
    first = grid.load_dataset(dataset, {"worker01": "uid-worker01"}, caller=LOADER)
    assert first["households"]["created"] == len(dataset["households"])
    second = grid.load_dataset(dataset, {"worker01": "uid-worker01"}, caller=LOADER)
    assert second["households"] == {
        "created": 0,
        "updated": 0,
        "unchanged": len(dataset["households"]),
    }
    assert second["grids"]["created"] == 0 and second["staff"]["created"] == 0
    mine = grid.my_grids(caller=who(["330424001001-001"], "uid-worker01"))
    assert {g["level"] for g in mine} == {1, 2, 3}
    point = grid.locate(120.9410, 30.5195)
    assert point["level"] == 3 and point["code"].startswith("330424001001-001-01")
    client = uuid.uuid4().hex
    assert client  # the demo data answers scoped searches too
    assert len(grid.search_households(caller=who(["330424001001-001"]), limit=10)) == 10


def test_client_ids_are_per_caller(small):
    """Issue 7 §8: reusing another user's client id is neither a 409 nor a peek at theirs."""
    grid = small
    mine = grid.create_household(household("601"), "same-id-1", caller=who([L1], "u-a", WORKER))
    theirs = grid.create_household(household("602"), "same-id-1", caller=who([L1], "u-b", WORKER))
    assert theirs["id"] != mine["id"] and theirs["address"]["room"] == "602"
    # the same caller repeating it still gets the first answer, and another body is a 409
    again = grid.create_household(household("601"), "same-id-1", caller=who([L1], "u-a", WORKER))
    assert again["id"] == mine["id"]
    with pytest.raises(IdempotencyConflict):
        grid.create_household(household("603"), "same-id-1", caller=who([L1], "u-b", WORKER))


def test_two_instances_send_the_days_overdue_digest_once(small, container_factory, grid_config):
    """The digest is a timer in every instance: the day's unique job record lets one send."""
    import eventlet
    from nameko.testing.services import entrypoint_hook

    from contracts.grid import VISITS_OVERDUE
    from services.grid.domain import LOCAL
    from services.kit import settings
    from services.kit.clock import ClockProvider
    from services.kit.mongo import connect

    small.create_household(household("701"), "d-1", caller=who([L1], "u-a", WORKER))
    later = (datetime.now(UTC) + timedelta(days=230)).astimezone(LOCAL).replace(hour=10)
    instances = [container_factory(GridService, grid_config) for _ in range(2)]
    for container in instances:
        container.start()
        clock = next(d for d in container.extensions if isinstance(d, ClockProvider))
        clock.clock.set(later)

    def run(container):
        with entrypoint_hook(container, "send_overdue_digest") as digest:
            return digest()

    sent = sorted(eventlet.spawn(run, c).wait() for c in instances)
    assert sent == [0, 2]  # one instance sent L2's and L3's; the other found the day taken
    db = connect(grid_config["MONGO_URL"])[settings.db_name("grid", grid_config)]
    events = [e["event"] for e in db["outbox"].find({"event.type": VISITS_OVERDUE})]
    assert sorted(e["payload"]["grid_code"] for e in events) == [L2, L3]
    assert {e["payload"]["overdue"] for e in events} == {1}
    assert run(instances[0]) == 0  # and that day is done


def xlsx_bomb(rows: int = 200_000) -> bytes:
    """A 33 KB workbook whose sheet expands to `rows` rows (issue 7 §4)."""
    import io
    import re
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["grid_code", "building", "room", "name", "relation"])
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                body = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * rows
                data = re.sub(
                    rb"<sheetData>.*</sheetData>|<sheetData\s*/>",
                    b"<sheetData>" + body + b"</sheetData>",
                    data,
                    flags=re.S,
                )
            dst.writestr(name, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_an_xlsx_bomb_is_refused_while_grid_reads_stay_fast(small, service_config):
    import time

    import eventlet

    bomb = xlsx_bomb()
    assert len(bomb) < 100_000
    content = base64.b64encode(bomb).decode()

    def load_bomb():
        with ClusterRpcProxy(service_config, timeout=60) as other:
            with pytest.raises(ValidationFailed) as refused:
                other.grid.import_file("households", "bomb.xlsx", content, caller=who([L1]))
            return refused.value.details

    began = time.perf_counter()
    importing = eventlet.spawn(load_bomb)
    eventlet.sleep(0.2)  # the file is on its way and being read
    waits = []
    while not importing.dead:
        started = time.perf_counter()
        assert small.get_grid(L2, caller=ADMIN)["code"] == L2
        waits.append(time.perf_counter() - started)
        eventlet.sleep(0.05)
    details = importing.wait()
    parsing = time.perf_counter() - began
    assert "rows" in details["file"] and details["limit"] == 50_000  # stopped at the cap
    assert len(waits) >= 3, waits  # reads were answered while the bomb was being read …
    # … each in a fraction of the parse (relative: this machine is shared and noisy; with
    # the parse on the event loop a read waits for all of it)
    assert max(waits) < parsing / 2, (parsing, waits)


def test_rekey_moves_every_sealed_value_under_a_new_key_in_resumable_batches(small, grid_config):
    """Issue 7 §2: rotating the data key is a command that re-encrypts, in batches (each one
    transaction with its progress), and a run that stops is resumed by the next."""
    from services.grid import rekey
    from services.grid.storage import GridStore
    from services.grid.vault import Vault, id_key
    from services.kit import settings
    from services.kit.mongo import connect
    from services.kit.sealing import is_sealed

    grid = small
    leader = who([L1], "u-leader", ["grid_leader"])
    for room in ("801", "802", "803"):
        grid.create_household(household(room), f"r-{room}", caller=who([L1], "u-a", WORKER))
    grid.add_reserve_member(
        L1, {"name": "志愿者", "kind": "volunteer", "phone": "13500000000"}, caller=leader
    )
    client = connect(grid_config["MONGO_URL"])
    db = client[settings.db_name("grid", grid_config)]
    # a record kept before encryption at rest: its phone in clear
    db["places"].insert_one(
        {
            "_id": "legacy-place",
            "grid_code": L3,
            "kind": "shop",
            "name": "老店",
            "place_key": "k",
            "contact": {"person": "店主", "phone": "13700000000"},
            "version": 1,
        }
    )
    old = Keyring.parse(grid_config["GRID_DATA_KEYS"])
    vault = Vault(id_key(grid_config), old.with_new_key("k-two"))

    class StopsAfterTwoBatches(GridStore):
        batches = 0

        def reseal(self, kind, docs, session):
            if StopsAfterTwoBatches.batches == 2:
                raise RuntimeError("stopped")
            StopsAfterTwoBatches.batches += 1
            return super().reseal(kind, docs, session)

    now = datetime.now(UTC)
    with pytest.raises(RuntimeError):
        rekey.rekey(StopsAfterTwoBatches(client, db), vault, now, batch=2)
    job = db["jobs"].find_one({"_id": "rekey:k-two"})
    assert job["after"].startswith("households|") and not job["done"]
    store = GridStore(client, db)
    assert sum(rekey.check(store, vault).values()) > 0
    resumed = rekey.rekey(store, vault, now + timedelta(seconds=1), batch=2)
    assert resumed["done"] and resumed["read"] < 3 + 1 + 3 + 1  # the first 4 were done
    assert resumed["resealed"]["places"] == 1 and resumed["resealed"]["reserve"] == 1
    assert rekey.check(store, vault) == dict.fromkeys(rekey.KINDS, 0)
    assert rekey.rekey(store, vault, now + timedelta(seconds=2))["already"] == "done"
    # every sealed value is under the new key, and the new key alone opens it
    new_only = Vault(id_key(grid_config), Keyring("k-two", {"k-two": vault.ring.keys["k-two"]}))
    sealed = []
    for h in db["households"].find():
        for m in h["members"]:
            sealed += [(m["id_sealed"], "id_number"), (m["phone"], "phone")]
            sealed += [(m["birth_date"], "birth_date")]
    sealed += [(p["contact"]["phone"], "phone") for p in db["places"].find()]
    sealed += [(p["phone"], "phone") for p in db["posts"].find()]
    sealed += [(r["phone"], "phone") for r in db["reserve"].find()]
    assert len(sealed) == 3 * 3 + 1 + 3 + 1
    assert all(is_sealed(v) and v["kid"] == "k-two" for v, _ in sealed)
    opened = {new_only.opened(v, purpose) for v, purpose in sealed}
    assert {"330424198001010012", "13912345678", "1980-01-01", "13700000000"} <= opened
    assert db["places"].find_one({"_id": "legacy-place"})["version"] == 1  # nothing else moved
