"""The grid registry's HTTP API end to end: scope, versions, idempotent visits, locating,
geometry checks, imports and exports, the public notice board, the OpenAPI document.

Runs against the whole system with the demo data of Haiyan county (infra/demo.py).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from urllib.parse import quote

import openpyxl
import pytest

pytestmark = pytest.mark.e2e

HAIXING = "330424001001"  # 海兴社区
G1 = f"{HAIXING}-001"  # worker01's and leader01's level-1 grid
G2 = f"{HAIXING}-002"  # a neighbouring level-1 grid, outside worker01's scope
MICRO = f"{G1}-01-01"  # 1幢1单元, worker01's A post
ISO_ZONE = ("+00:00", "Z")


@pytest.fixture(scope="module")
def tokens(system):
    names = ("worker01", "worker02", "leader01", "community01", "county", "admin", "resident01")
    found = {name: system.login(name)["access_token"] for name in names}
    found["hx2"] = system.login("g2leader")["access_token"]  # leader of the second grid
    return found


def assert_error(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == code, body
    assert body["message"] and "Traceback" not in answer.text
    return body


def first_household(system, token: str, **params) -> dict:
    answer = system.call("GET", "/api/v1/households", token, params={"limit": 1, **params})
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert items, params
    return items[0]


def test_worker_sees_only_households_of_their_grids(system, tokens):
    worker = tokens["worker01"]
    page = system.call("GET", "/api/v1/households", worker, params={"limit": 100}).json()
    assert len(page["items"]) == 100 and page["next_offset"] == 100
    assert all(h["grid_code"].startswith(G1) for h in page["items"])
    assert "phone" not in json.dumps(page["items"])  # lists carry no phones
    second = system.call(
        "GET", "/api/v1/households", worker, params={"limit": 100, "offset": 100}
    ).json()
    assert not {h["id"] for h in second["items"]} & {h["id"] for h in page["items"]}

    # a household of the neighbouring grid: the county sees it, worker01 gets 404
    other = first_household(system, tokens["county"], grid_code=G2)
    assert system.call("GET", f"/api/v1/households/{other['id']}", tokens["county"]).ok
    assert_error(system.call("GET", f"/api/v1/households/{other['id']}", worker), 404, "not_found")
    patch = system.call(
        "PATCH", f"/api/v1/households/{other['id']}", worker, json={"version": 1, "note": "x"}
    )
    assert_error(patch, 404, "not_found")
    only_g2 = system.call("GET", "/api/v1/households", worker, params={"grid_code": G2}).json()
    assert only_g2["items"] == []

    mine = first_household(system, worker, grid_code=MICRO)
    file = system.call("GET", f"/api/v1/households/{mine['id']}", worker).json()
    assert file["grid_code"] == MICRO and file["created_at"].endswith(ISO_ZONE)
    for member in file["members"]:
        assert member["id_number"] is None or "*" in member["id_number"]


def test_household_search_by_tag_and_building_and_bad_queries(system, tokens):
    worker = tokens["worker01"]
    tagged = system.call(
        "GET", "/api/v1/households", worker, params={"tag": "rental_house", "limit": 50}
    ).json()["items"]
    assert all("rental_house" in h["tags"] for h in tagged)
    building = system.call(
        "GET", "/api/v1/households", worker, params={"building": "2", "limit": 50}
    ).json()["items"]
    assert building and all(h["address"]["building"] == "2" for h in building)
    # by name: a member's full name finds only households with a member of that name
    file = system.call("GET", f"/api/v1/households/{building[0]['id']}", worker).json()
    name = file["members"][-1]["name"]
    named = system.call("GET", "/api/v1/households", worker, params={"name": name}).json()
    assert building[0]["id"] in {h["id"] for h in named["items"]}
    for line in named["items"]:
        members = system.call("GET", f"/api/v1/households/{line['id']}", worker).json()["members"]
        assert any(m["name"].startswith(name) for m in members), (name, members)


def test_create_household_and_stale_update_is_409_with_current(system, tokens):
    worker = tokens["worker01"]
    key = uuid.uuid4().hex
    body = {
        "grid_code": MICRO,
        "address": {"building": "1", "unit": "1", "room": f"E2E-{key[:6]}"},
        "members": [
            {"name": "测试户主", "relation": "head", "phone": "13800000001"},
            {"name": "测试配偶", "relation": "spouse"},
        ],
        "housing": {"tenure": "owned"},
        "tags": ["elderly_alone"],
    }
    created = system.call(
        "POST", "/api/v1/households", worker, json=body, headers={"Idempotency-Key": key}
    )
    assert created.status_code == 201, created.text
    household = created.json()
    assert household["version"] == 1 and household["members"][0]["phone"] == "13800000001"
    again = system.call(
        "POST", "/api/v1/households", worker, json=body, headers={"Idempotency-Key": key}
    )
    assert again.status_code == 201 and again.json()["id"] == household["id"]

    outside = system.call("POST", "/api/v1/households", worker, json={**body, "grid_code": G2})
    assert outside.status_code == 404, outside.text

    path = f"/api/v1/households/{household['id']}"
    first = system.call("PATCH", path, worker, json={"version": 1, "note": "第一次修改"})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2 and first.json()["note"] == "第一次修改"
    stale = assert_error(
        system.call("PATCH", path, tokens["worker02"], json={"version": 1, "note": "旧版本"}),
        409,
        "conflict",
    )
    current = stale["details"]["current"]
    assert current["id"] == household["id"] and current["version"] == 2
    assert current["note"] == "第一次修改"
    assert system.call("GET", path, worker).json()["note"] == "第一次修改"


def test_visit_with_the_same_client_id_is_recorded_once(system, tokens):
    worker = tokens["worker01"]
    household = first_household(system, worker, grid_code=MICRO)
    key = uuid.uuid4().hex
    body = {
        "household_id": household["id"],
        "kind": "routine",
        "findings": {"opinions": ["楼道灯坏了"]},
        "note": "入户走访",
    }
    first = system.call(
        "POST", "/api/v1/visits", worker, json=body, headers={"Idempotency-Key": key}
    )
    assert first.status_code == 201, first.text
    visit = first.json()
    assert visit["occurred_at"].endswith(ISO_ZONE) and visit["grid_code"] == MICRO
    second = system.call("POST", "/api/v1/visits", worker, json={**body, "client_id": key})
    assert second.status_code == 201 and second.json()["id"] == visit["id"]
    listed = system.call(
        "GET", "/api/v1/visits", worker, params={"household_id": household["id"]}
    ).json()
    assert [v["id"] for v in listed].count(visit["id"]) == 1
    assert sum(1 for v in listed if v["note"] == "入户走访" and v["id"] == visit["id"]) == 1

    changed = system.call(
        "POST",
        "/api/v1/visits",
        worker,
        json={**body, "note": "另一份内容"},
        headers={"Idempotency-Key": key},
    )
    assert_error(changed, 409, "idempotency_conflict")
    other = first_household(system, tokens["county"], grid_code=G2)
    assert_error(
        system.call(
            "POST",
            "/api/v1/visits",
            worker,
            json={**body, "household_id": other["id"], "client_id": uuid.uuid4().hex},
        ),
        404,
        "not_found",
    )

    mine = system.call("GET", "/api/v1/me/grids", worker)
    assert mine.status_code == 200, mine.text
    micro = next(g for g in mine.json() if g["code"] == MICRO)
    assert micro["coverage"]["visits_by_me"] >= 1 and micro["coverage"]["visited"] >= 1


def test_leader_sees_the_duty_board(system, tokens):
    board = system.call("GET", "/api/v1/duty-board", tokens["leader01"])
    assert board.status_code == 200, board.text
    body = board.json()
    assert body["code"] == G1
    by_code = {g["code"]: g for g in body["grids"]}
    assert MICRO in by_code
    assert by_code[MICRO]["on_duty"]["display_name"]
    assert {p["ab"] for p in by_code[MICRO]["posts"]} >= {"A", "B"}
    assert "overdue" in by_code[G1]["coverage"] and by_code[G1]["coverage"]["households"] > 300
    duty = system.call("GET", f"/api/v1/grids/{MICRO}/on-duty", tokens["leader01"]).json()
    assert duty["handled_at"] == MICRO and duty["ab"] == "A"


def test_locate_a_point_inside_a_micro_grid(system, tokens):
    grid = system.call(
        "GET", f"/api/v1/grids/{MICRO}", tokens["worker01"], params={"boundary": "true"}
    ).json()
    ring = grid["boundary"]["coordinates"][0][:-1]
    lon = sum(p[0] for p in ring) / len(ring)
    lat = sum(p[1] for p in ring) / len(ring)
    found = system.call(
        "GET", "/api/v1/locate", tokens["resident01"], params={"lon": lon, "lat": lat}
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["code"] == MICRO and body["level"] == 3
    assert [c["code"] for c in body["chain"]] == [G1, f"{G1}-01", MICRO]
    nowhere = system.call("GET", "/api/v1/locate", tokens["worker01"], params={"lon": 0, "lat": 0})
    assert_error(nowhere, 404, "not_found")


def test_grids_are_listed_and_read_within_scope(system, tokens):
    worker = tokens["worker01"]
    listed = system.call("GET", "/api/v1/grids", worker, params={"prefix": HAIXING}).json()
    codes = {g["code"] for g in listed}
    assert G1 in codes and MICRO in codes and G2 not in codes
    geo = system.call("GET", f"/api/v1/grids/{G1}/geojson", worker)
    assert geo.headers["Content-Type"].startswith("application/geo+json")
    roles = {f["properties"]["role"] for f in geo.json()["features"]}
    assert roles == {"self", "child"}
    cover = system.call("GET", f"/api/v1/grids/{G1}/cover", worker).json()
    assert cover["children"] == 4 and cover["uncovered_share"] < 0.01
    warnings = system.call("GET", "/api/v1/grid-warnings", tokens["community01"])
    assert warnings.status_code == 200 and isinstance(warnings.json(), list)


BOWTIE = [[120.95, 30.53], [120.951, 30.531], [120.951, 30.53], [120.95, 30.531], [120.95, 30.53]]
OPEN_RING = [[120.95, 30.53], [120.951, 30.53], [120.951, 30.531], [120.95, 30.531]]
OUT_OF_RANGE = [[190.0, 30.53], [190.001, 30.53], [190.001, 30.531], [190.0, 30.53]]


@pytest.mark.parametrize(
    "ring,problem",
    [(BOWTIE, "self-intersecting"), (OPEN_RING, "open ring"), (OUT_OF_RANGE, "out of range")],
)
def test_invalid_polygons_are_refused_and_nothing_is_written(system, tokens, ring, problem):
    code = f"{HAIXING}-090"
    body = {
        "code": code,
        "name": f"测试网格 {problem}",
        "boundary": {"type": "Polygon", "coordinates": [ring]},
    }
    answer = system.call("POST", "/api/v1/grids", tokens["admin"], json=body)
    details = assert_error(answer, 400, "validation_failed")["details"]
    assert "boundary" in details and details["boundary"], details
    assert_error(system.call("GET", f"/api/v1/grids/{code}", tokens["admin"]), 404, "not_found")


def test_grid_writes_need_an_admin_role_in_scope(system, tokens):
    square = [[120.96, 30.53], [120.961, 30.53], [120.961, 30.531], [120.96, 30.531]]
    body = {
        "code": f"{HAIXING}-091",
        "name": "测试网格",
        "boundary": {"type": "Polygon", "coordinates": [[*square, square[0]]]},
    }
    overlap = system.call("GET", f"/api/v1/grids/{G1}", tokens["admin"], params={"boundary": 1})
    overlapping = {**body, "boundary": overlap.json()["boundary"]}
    details = assert_error(
        system.call("POST", "/api/v1/grids", tokens["community01"], json=overlapping),
        400,
        "validation_failed",
    )["details"]
    assert G1 in json.dumps(details, ensure_ascii=False)
    unwritten = system.call("GET", f"/api/v1/grids/{HAIXING}-091", tokens["admin"])
    assert_error(unwritten, 404, "not_found")
    stale = system.call(
        "PATCH", f"/api/v1/grids/{G1}", tokens["community01"], json={"version": 999, "name": "x"}
    )
    assert stale.json()["details"]["current"]["code"] == G1 and stale.status_code == 409


def household_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["网格编码", "楼栋", "单元", "房号", "姓名", "与户主关系", "手机号", "标签"])
    writer.writerows(rows)
    return out.getvalue()


def heads(system, token: str, building: str) -> dict[str, list[str]]:
    """Head of household -> tags, for the households of a building in the micro-grid."""
    found = system.call(
        "GET", "/api/v1/households", token, params={"building": building, "grid_code": MICRO}
    ).json()["items"]
    return {h["head"]: h["tags"] for h in found}


def imported(system, token: str, kind: str, content: bytes, name: str, **params):
    return system.call(
        "POST",
        f"/api/v1/grid-imports/{kind}",
        token,
        files={"file": (name, content, "application/octet-stream")},
        params=params,
    )


def test_csv_import_in_gbk_and_utf8_bom_and_twice_changes_nothing(system, tokens):
    admin = tokens["community01"]
    room = uuid.uuid4().hex[:6]
    text = household_csv(
        [
            [MICRO, "导入楼", "1", f"{room}-1", "王导入", "户主", "13900000001", "独居老人"],
            [MICRO, "导入楼", "1", f"{room}-2", "李导入", "户主", "13900000002", ""],
            [MICRO, "导入楼", "1", f"{room}-2", "李小导", "子女", "", ""],
        ]
    )
    gbk = imported(system, admin, "households", text.encode("gbk"), "households-gbk.csv")
    assert gbk.status_code == 200, gbk.text
    report = gbk.json()
    assert report["encoding"] == "gbk" and report["applied"] is True
    assert report["created"] == 2 and report["bad_rows"] == []
    found = heads(system, admin, "导入楼")
    assert found == {"王导入": ["elderly_alone"], "李导入": []}

    bom = "\ufeff" + text
    same = imported(system, admin, "households", bom.encode("utf-8"), "households-bom.csv")
    assert same.status_code == 200, same.text
    assert same.json()["encoding"] == "utf-8-sig"
    assert (same.json()["created"], same.json()["updated"]) == (0, 0)
    twice = imported(system, admin, "households", bom.encode("utf-8"), "households-bom.csv")
    assert (twice.json()["created"], twice.json()["updated"]) == (0, 0)
    assert twice.json()["seen_before"] is True
    raw = system.call(  # the raw body works as well as a form upload
        "POST",
        "/api/v1/grid-imports/households",
        admin,
        data=bom.encode("utf-8"),
        headers={"Content-Type": "text/csv"},
    )
    assert raw.status_code == 200, raw.text
    assert (raw.json()["created"], raw.json()["updated"]) == (0, 0)


def test_csv_with_a_bad_row_is_rejected_whole_with_a_report(system, tokens):
    admin = tokens["community01"]
    room = uuid.uuid4().hex[:6]
    text = household_csv(
        [
            [MICRO, "坏行楼", "1", f"{room}-1", "赵正常", "户主", "13900000003", ""],
            [MICRO, "坏行楼", "1", f"{room}-2", "钱坏行", "户主", "12345", ""],
        ]
    )
    answer = imported(system, admin, "households", text.encode("utf-8"), "bad.csv")
    details = assert_error(answer, 400, "validation_failed")["details"]
    assert [r["row"] for r in details["bad_rows"]] == [3]
    assert "phone" in json.dumps(details["bad_rows"][0]["problems"])
    assert heads(system, admin, "坏行楼") == {}

    outside = household_csv([["330424104201-001-01", "X", "", "1", "孙越界", "户主", "", ""]])
    answer = imported(system, admin, "households", outside.encode("utf-8"), "outside.csv")
    details = assert_error(answer, 400, "validation_failed")["details"]
    assert details["bad_rows"][0]["row"] == 2 and "grid_code" in details["bad_rows"][0]["problems"]
    # the grid service refuses it itself, on a dry run too, naming only the rows outside
    dry = imported(system, admin, "households", outside.encode("utf-8"), "o.csv", dry_run=1)
    details = assert_error(dry, 400, "validation_failed")["details"]
    assert details["bad_rows"] == [
        {"row": 2, "problems": {"grid_code": "330424104201-001-01 lies outside your scopes"}}
    ]


def test_exports_download_and_import_again_without_changes(system, tokens):
    admin = tokens["community01"]
    prefix = f"{G1}-02"
    csv_answer = system.call(
        "GET", "/api/v1/grid-exports/households", admin, params={"prefix": prefix}
    )
    assert csv_answer.status_code == 200, csv_answer.text
    assert csv_answer.headers["Content-Type"].startswith("text/csv")
    assert 'filename="households-' in csv_answer.headers["Content-Disposition"]
    assert csv_answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert len(rows) > 30 and all(r[0].startswith(prefix) for r in rows[1:])
    again = imported(system, admin, "households", csv_answer.content, "households.csv")
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)

    xlsx = system.call(
        "GET",
        "/api/v1/grid-exports/places",
        admin,
        params={"prefix": HAIXING, "format": "xlsx"},
    )
    assert xlsx.status_code == 200, xlsx.text
    assert xlsx.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    assert sheet.max_row > 5
    again = imported(system, admin, "places", xlsx.content, "places.xlsx")
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)

    geo = system.call("GET", "/api/v1/grid-exports/grids", admin, params={"prefix": G1})
    assert geo.headers["Content-Type"].startswith("application/geo+json")
    assert len(geo.json()["features"]) > 10
    again = imported(system, admin, "grids", geo.content, "grids.geojson")
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"]) == (0, 0)


def test_notice_board_is_public_and_shows_no_household_data(system):
    answer = system.call("GET", f"/api/v1/public/grids/{MICRO}/notice-board")
    assert answer.status_code == 200, answer.text
    board = answer.json()
    assert board["code"] == MICRO and board["name"]
    assert set(board) == {"code", "name", "level", "staff"}
    assert board["staff"] and all(
        set(s) == {"grid_code", "grid_name", "name", "post", "post_zh", "ab", "phone"}
        for s in board["staff"]
    )
    assert {s["grid_code"] for s in board["staff"]} <= {G1, f"{G1}-01", MICRO}
    text = answer.text
    for word in ("household", "members", "address", "id_number", "room"):
        assert word not in text
    missing = system.call("GET", f"/api/v1/public/grids/{HAIXING}-099/notice-board")
    assert_error(missing, 404, "not_found")


def test_posts_absence_and_reserve(system, tokens):
    admin = tokens["community01"]
    posts = system.call("GET", f"/api/v1/grids/{MICRO}/posts", admin).json()
    a_post = next(p for p in posts if p["ab"] == "A")
    path = f"/api/v1/grids/{MICRO}/posts/{a_post['user_id']}/absence"
    away = system.call("PUT", path, tokens["leader01"], json={"absent": True})
    assert away.status_code == 200, away.text
    assert away.json()["ab"] == "B"
    back = system.call("PUT", path, tokens["leader01"], json={"absent": False})
    assert back.json()["ab"] == "A"
    reserve = system.call("GET", f"/api/v1/grids/{G1}/reserve", tokens["leader01"])
    assert reserve.status_code == 200 and len(reserve.json()) >= 5
    added = system.call(
        "POST",
        f"/api/v1/grids/{G1}/reserve",
        tokens["leader01"],
        json={"name": "临时志愿者", "kind": "volunteer", "phone": "13900001111"},
    )
    assert added.status_code == 200, added.text
    gone = f"/api/v1/grids/{G1}/reserve/{quote(added.json()['id'], safe='')}"
    assert system.call("DELETE", gone, tokens["leader01"]).status_code == 204
    assert_error(system.call("DELETE", gone, tokens["leader01"]), 404, "not_found")
    names = [m["name"] for m in system.call("GET", f"/api/v1/grids/{G1}/reserve", admin).json()]
    assert "临时志愿者" not in names and len(names) == len(reserve.json())
    party = system.call("GET", f"/api/v1/grids/{G1}/party", tokens["leader01"])
    assert party.status_code == 200 and party.json()["units"]


def id_number(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def test_find_by_id_number_and_masked_round_trip_and_audit(system, tokens):
    worker = tokens["worker01"]
    number = id_number(f"33042419500101{uuid.uuid4().int % 1000:03d}")
    body = {
        "grid_code": MICRO,
        "address": {"building": "1", "unit": "1", "room": f"ID-{uuid.uuid4().hex[:6]}"},
        "members": [{"name": "身份证户主", "relation": "head", "id_number": number}],
    }
    created = system.call("POST", "/api/v1/households", worker, json=body).json()
    shown = created["members"][0]["id_number"]
    # issue 7 §2: the birth year only (this once asserted birth_date == "1950-01-01")
    assert "*" in shown and shown != number and created["members"][0]["birth_year"] == 1950
    found = system.call(
        "POST", "/api/v1/households/find-by-id-number", worker, json={"id_number": number}
    )
    assert found.status_code == 200, found.text
    assert [h["id"] for h in found.json()] == [created["id"]]
    elsewhere = system.call(
        "POST", "/api/v1/households/find-by-id-number", tokens["hx2"], json={"id_number": number}
    )
    assert elsewhere.status_code == 200 and elsewhere.json() == []
    bad = system.call(
        "POST", "/api/v1/households/find-by-id-number", worker, json={"id_number": "1" * 18}
    )
    assert "id_number" in assert_error(bad, 400, "validation_failed")["details"]

    # the masked file sent back keeps the stored number
    keep = ("id", "name", "relation", "id_number")
    members = [{k: m[k] for k in keep} for m in created["members"]]
    members.append({"name": "新成员", "relation": "spouse"})
    path = f"/api/v1/households/{created['id']}"
    updated = system.call("PATCH", path, worker, json={"version": 1, "members": members})
    assert updated.status_code == 200, updated.text
    again = system.call(
        "POST", "/api/v1/households/find-by-id-number", worker, json={"id_number": number}
    )
    assert [h["id"] for h in again.json()] == [created["id"]]
    assert again.json()[0]["members"] == 2

    audit = system.call("GET", "/api/v1/grid-audit", tokens["admin"], params={"limit": 50})
    assert audit.status_code == 200, audit.text
    kinds = {e["kind"] for e in audit.json()}
    assert "id_lookup" in kinds and "household_unmasked" in kinds
    assert all(e["at"].endswith(ISO_ZONE) for e in audit.json())


def test_places_create_list_and_stale_update(system, tokens):
    worker = tokens["worker01"]
    grid = system.call("GET", f"/api/v1/grids/{MICRO}", worker, params={"boundary": "true"})
    ring = grid.json()["boundary"]["coordinates"][0][:-1]
    centre = [sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)]
    body = {
        "grid_code": MICRO,
        "kind": "facility",
        "name": f"测试灭火器 {uuid.uuid4().hex[:6]}",
        "location": centre,
        "contact": {"person": "物业", "phone": "13700000000"},
    }
    created = system.call("POST", "/api/v1/places", worker, json=body)
    assert created.status_code == 201, created.text
    place = created.json()
    assert place["element"] == "thing" and place["version"] == 1
    listed = system.call("GET", "/api/v1/places", worker, params={"grid_code": MICRO}).json()
    mine = next(p for p in listed if p["id"] == place["id"])
    assert "*" in mine["contact"]["phone"]
    path = f"/api/v1/places/{place['id']}"
    assert system.call("PATCH", path, worker, json={"version": 1, "note": "已检查"}).ok
    stale = system.call("PATCH", path, worker, json={"version": 1, "note": "旧"})
    assert assert_error(stale, 409, "conflict")["details"]["current"]["version"] == 2
    far = {**body, "name": "远处", "location": [121.5, 31.2]}
    details = assert_error(
        system.call("POST", "/api/v1/places", worker, json=far), 400, "validation_failed"
    )["details"]
    assert "location" in details


def test_divisions_coverage_dry_run_and_visit_time(system, tokens):
    divisions = system.call(
        "GET", "/api/v1/divisions", tokens["worker01"], params={"prefix": "3304"}
    )
    assert {d["code"] for d in divisions.json()} >= {"330424", HAIXING}
    same = system.call(
        "PUT",
        "/api/v1/divisions",
        tokens["county"],
        json={"divisions": [{"code": HAIXING, "name": "海兴社区"}]},
    )
    assert same.status_code == 200, same.text
    assert same.json() == {"created": 0, "updated": 0, "unchanged": 1}
    assert_error(
        system.call(
            "PUT",
            "/api/v1/divisions",
            tokens["community01"],
            json={"divisions": [{"code": HAIXING, "name": "x"}]},
        ),
        403,
        "forbidden",
    )
    coverage = system.call("GET", f"/api/v1/grids/{MICRO}/visit-coverage", tokens["leader01"])
    assert coverage.status_code == 200, coverage.text
    assert coverage.json()["households"] >= 30 and coverage.json()["period"]

    room = uuid.uuid4().hex[:6]
    text = household_csv([[MICRO, "试运行楼", "1", room, "周试运", "户主", "", ""]])
    dry = imported(system, tokens["community01"], "households", text.encode(), "d.csv", dry_run=1)
    assert dry.status_code == 200, dry.text
    assert dry.json()["applied"] is False and dry.json()["created"] == 1
    assert heads(system, tokens["community01"], "试运行楼") == {}

    household = first_household(system, tokens["worker01"], grid_code=MICRO)
    naive = system.call(
        "POST",
        "/api/v1/visits",
        tokens["worker01"],
        json={
            "household_id": household["id"],
            "occurred_at": "2024-05-01T10:00:00",
            "client_id": uuid.uuid4().hex,
        },
    )
    assert "occurred_at" in assert_error(naive, 400, "validation_failed")["details"]


def test_party_member_links_are_made_and_removed(system, tokens):
    leader = tokens["leader01"]
    households = [first_household(system, leader, grid_code=MICRO)["id"]]
    key = f"e2e-party-{uuid.uuid4().hex[:8]}"
    body = {"member": {"name": "测试党员", "user_id": key}, "household_ids": households}
    linked = system.call("PUT", f"/api/v1/grids/{G1}/party-links", leader, json=body)
    assert linked.status_code == 200, linked.text
    assert linked.json() == {"grid_code": G1, "member": "测试党员", "households": 1}
    links = system.call("GET", f"/api/v1/grids/{G1}/party", leader).json()["links"]
    mine = next(link for link in links if link.get("member_key") == key)
    assert [h["id"] for h in mine["households"]] == households

    path = f"/api/v1/grids/{G1}/party-links/{quote(key, safe='')}"
    assert system.call("DELETE", path, leader).status_code == 204
    assert_error(system.call("DELETE", path, leader), 404, "not_found")
    links = system.call("GET", f"/api/v1/grids/{G1}/party", leader).json()["links"]
    assert not any(link.get("member_key") == key for link in links)

    # linked by name alone, the name is the key
    name = f"党员{uuid.uuid4().hex[:4]}"
    body = {"member": {"name": name}, "household_ids": households}
    assert system.call("PUT", f"/api/v1/grids/{G1}/party-links", leader, json=body).ok
    by_name = f"/api/v1/grids/{G1}/party-links/{quote(name, safe='')}"
    assert system.call("DELETE", by_name, tokens["community01"]).status_code == 204


def test_a_place_is_read_alone_within_scope(system, tokens):
    worker = tokens["worker01"]
    body = {
        "grid_code": MICRO,
        "kind": "shop",
        "name": f"测试小店 {uuid.uuid4().hex[:6]}",
        "contact": {"person": "店主", "phone": "13700000009"},
    }
    created = system.call("POST", "/api/v1/places", worker, json=body)
    assert created.status_code == 201, created.text
    path = f"/api/v1/places/{created.json()['id']}"
    place = system.call("GET", path, worker)
    assert place.status_code == 200, place.text
    assert place.json()["name"] == body["name"] and place.json()["grid_code"] == MICRO
    assert place.json()["contact"]["phone"] == "13700000009"  # the grid's worker needs it
    assert place.json()["version"] == 1 and place.json()["element"]
    assert system.call("GET", path, tokens["county"]).ok
    assert_error(system.call("GET", path, tokens["hx2"]), 404, "not_found")
    assert_error(system.call("GET", "/api/v1/places/no-such-place", worker), 404, "not_found")
    audit = system.call(
        "GET", "/api/v1/grid-audit", tokens["admin"], params={"kind": "place_unmasked"}
    )
    assert audit.status_code == 200, audit.text
    assert any(e.get("record_id") == created.json()["id"] for e in audit.json())


def test_a_grid_import_cannot_slip_past_the_scope_check(system, tokens):
    """Issue 7 §1, as the attacker did it: 海兴社区's admin (scope 330424001001) sends a
    feature's properties as [key, value] pairs to create a grid in 滕泾村 and rename another.
    Both are refused with a 400 naming the row; malformed properties are 400s, not 500s."""
    admin, county = tokens["community01"], tokens["county"]
    target = "330424104201-002-01-93"
    theirs = "330424104201-001"
    before = system.call("GET", f"/api/v1/grids/{theirs}", county).json()["name"]
    square = [[120.843, 30.557], [120.8433, 30.557], [120.8433, 30.5573], [120.843, 30.5573]]
    geometry = {"type": "Polygon", "coordinates": [[*square, square[0]]]}
    for properties in (
        [["code", target], ["name", "越界网格"]],
        [["code", theirs], ["name", "被改名"]],
        7,
        "330424104201-002",
        True,
    ):
        feature = {"type": "Feature", "geometry": geometry, "properties": properties}
        body = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
        answer = imported(system, admin, "grids", body, "grids.geojson")
        details = assert_error(answer, 400, "validation_failed")["details"]
        assert details["bad_rows"][0]["row"] == 1, details
    assert_error(system.call("GET", f"/api/v1/grids/{target}", county), 404, "not_found")
    assert system.call("GET", f"/api/v1/grids/{theirs}", county).json()["name"] == before
