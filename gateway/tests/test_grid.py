"""The grid blueprint (divisions, grids, locate, the notice board) against a recording fake
RPC: roles, scope, validation and how the grid service's errors are answered."""

from __future__ import annotations

from contracts.caller import Caller
from contracts.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationFailed
from gateway.tests.answers import G1, G2, HAIXING, MICRO, TENGJING, assert_error

SQUARE = [[120.96, 30.53], [120.961, 30.53], [120.961, 30.531], [120.96, 30.531], [120.96, 30.53]]
NEW_GRID = {
    "code": f"{HAIXING}-091",
    "name": "测试网格",
    "boundary": {"type": "Polygon", "coordinates": [SQUARE]},
}


def test_divisions_are_read_by_anyone_signed_in_and_put_by_the_service_rule(client, rpc, bearer):
    rpc.answer("grid", "list_divisions", [{"code": HAIXING, "name": "海兴社区"}])
    assert client.get("/api/v1/divisions?prefix=3304").status_code == 401
    found = client.get("/api/v1/divisions?prefix=3304", headers=bearer("resident"))
    assert found.status_code == 200 and rpc.last("grid", "list_divisions").args == ("3304",)
    details = assert_error(
        client.get("/api/v1/divisions?prefix=abc", headers=bearer("resident")),
        400,
        "validation_failed",
    )
    assert "prefix" in details
    body = {"divisions": [{"code": HAIXING, "name": "海兴社区"}]}
    refused = client.put("/api/v1/divisions", json=body, headers=bearer("community_admin"))
    assert_error(refused, 403, "forbidden")
    # which divisions a county admin may name is the service's rule: its Forbidden is a 403
    rpc.answer("grid", "put_divisions", Forbidden(details={"code": HAIXING}))
    answer = client.put("/api/v1/divisions", json=body, headers=bearer("county_admin"))
    assert_error(answer, 403, "forbidden")
    rpc.answer("grid", "put_divisions", {"unchanged": 1})
    answer = client.put("/api/v1/divisions", json=body, headers=bearer("county_admin"))
    assert answer.json == {"created": 0, "updated": 0, "unchanged": 1}
    call = rpc.last("grid", "put_divisions")
    assert call.args == (body["divisions"],) and call.kwargs["caller"].roles == ("county_admin",)


def test_grids_are_listed_by_the_service_within_the_callers_scopes(client, rpc, bearer):
    rpc.answer("grid", "list_grids", [])
    client.get(f"/api/v1/grids?prefix={HAIXING}&level=2", headers=bearer("grid_worker"))
    call = rpc.last("grid", "list_grids")
    assert call.args == (HAIXING, 2) and call.kwargs["caller"].scopes == (HAIXING,)
    bad = client.get("/api/v1/grids?level=9", headers=bearer("grid_worker"))
    assert "level" in assert_error(bad, 400, "validation_failed")


def test_grid_writes_need_an_admin_role_in_scope(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.post("/api/v1/grids", json=NEW_GRID, headers=worker), 403, "forbidden")
    town_grid = {**NEW_GRID, "code": f"{TENGJING}-091"}  # outside community01's scope
    answer = client.post("/api/v1/grids", json=town_grid, headers=bearer("community_admin"))
    assert_error(answer, 403, "forbidden")
    unknown = client.post(
        "/api/v1/grids", json={**NEW_GRID, "colour": "red"}, headers=bearer("community_admin")
    )
    assert "colour" in assert_error(unknown, 400, "validation_failed")
    assert not rpc.calls
    created = {"code": NEW_GRID["code"], "name": "测试网格", "level": 1, "version": 1}
    rpc.answer("grid", "create_grid", created)
    answer = client.post(
        "/api/v1/grids",
        json=NEW_GRID,
        headers={**bearer("community_admin", sub="u-c"), "Idempotency-Key": "key-0001"},
    )
    assert answer.status_code == 201 and answer.json["code"] == NEW_GRID["code"]
    call = rpc.last("grid", "create_grid")
    assert call.args[1] == "key-0001" and call.kwargs["caller"].actor == "u-c"
    # the service's refusals keep their meaning
    overlap = ValidationFailed(details={"boundary": f"grid x overlaps grid {G1} by 9 m²"})
    for refusal, status, code in (
        (overlap, 400, "validation_failed"),
        (AlreadyExists(details={"code": NEW_GRID["code"]}), 409, "already_exists"),
    ):
        rpc.answer("grid", "create_grid", refusal)
        answer = client.post("/api/v1/grids", json=NEW_GRID, headers=bearer("community_admin"))
        assert_error(answer, status, code)


def test_a_grid_outside_the_callers_scopes_is_404_before_any_call(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.get(f"/api/v1/grids/{G2}", headers=worker), 404, "not_found")
    for path in ("geojson", "cover"):
        assert_error(client.get(f"/api/v1/grids/{G2}/{path}", headers=worker), 404, "not_found")
    patch = client.patch(
        f"/api/v1/grids/{G2}", json={"version": 1}, headers=bearer("community_admin", scopes=(G1,))
    )
    assert_error(patch, 404, "not_found")
    assert not rpc.calls


def test_a_stale_update_is_409_with_the_grid_as_it_is(client, rpc, bearer):
    current = {"code": G1, "version": 3, "name": "一网格"}
    rpc.answer("grid", "update_grid", Conflict(details={"current": current}))
    stale = client.patch(
        f"/api/v1/grids/{G1}", json={"version": 999, "name": "x"}, headers=bearer("community_admin")
    )
    assert assert_error(stale, 409, "conflict")["current"]["code"] == G1
    call = rpc.last("grid", "update_grid")
    assert call.args == (G1, {"name": "x"}, 999)


def test_grid_warnings_are_for_leaders(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.get(f"/api/v1/grids/{G1}/warnings", headers=worker), 403, "forbidden")
    rpc.answer("grid", "grid_warnings", lambda prefix, caller: [])
    answer = client.get("/api/v1/grid-warnings", headers=bearer("community_admin"))
    assert answer.status_code == 200 and answer.json == []
    assert [c.args for c in rpc.calls] == [(HAIXING,)]  # once per prefix the caller holds


def test_locate_checks_its_point(client, rpc, bearer):
    worker = bearer("grid_worker")
    bad = client.get("/api/v1/locate?lon=east&lat=1", headers=worker)
    assert "lon" in assert_error(bad, 400, "validation_failed")
    bad = client.get("/api/v1/locate?lon=120&lat=95", headers=worker)
    assert "lat" in assert_error(bad, 400, "validation_failed")
    assert client.get("/api/v1/locate?lon=120&lat=30").status_code == 401
    rpc.answer("grid", "locate", NotFound(details={"point": [0, 0]}))
    assert_error(client.get("/api/v1/locate?lon=0&lat=0", headers=worker), 404, "not_found")


def test_the_notice_board_is_public_and_asked_as_the_gateway(client, rpc):
    board = {"code": MICRO, "name": "1幢1单元", "level": 3, "staff": []}
    rpc.answer("grid", "notice_board", board)
    answer = client.get(f"/api/v1/public/grids/{MICRO}/notice-board")
    assert answer.status_code == 200 and answer.json == board
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    caller = rpc.last("grid", "notice_board").kwargs["caller"]
    assert caller == Caller.trusted("gateway")


def test_openapi_lists_the_grid_paths(client):
    spec = client.get("/api/v1/openapi.json").json
    grid_paths = {"/grids", "/grids/{code}", "/locate", "/households", "/visits", "/duty-board"}
    grid_paths |= {"/households/{household_id}", "/me/grids", "/grid-imports/{kind}"}
    grid_paths |= {"/grid-exports/{kind}", "/public/grids/{code}/notice-board"}
    assert {f"/api/v1{p}" for p in grid_paths} <= set(spec["paths"])
    create = spec["paths"]["/api/v1/households"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("HouseholdCreateIn")
    assert "HouseholdOut" in spec["components"]["schemas"]
    assert "security" not in spec["paths"]["/api/v1/public/grids/{code}/notice-board"]["get"]
    upload = spec["paths"]["/api/v1/grid-imports/{kind}"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    download = spec["paths"]["/api/v1/grid-exports/{kind}"]["get"]["responses"]["200"]
    assert "text/csv" in download["content"]
    assert "get" in spec["paths"]["/api/v1/places/{place_id}"]
    assert "delete" in spec["paths"]["/api/v1/grids/{code}/party-links/{member_key}"]
    # the Roles line of each operation comes from its decorator, so it cannot drift
    void = spec["paths"]["/api/v1/visits/{visit_id}/void"]["post"]
    assert void["description"].startswith("Roles: grid_leader, operator, county_admin")
