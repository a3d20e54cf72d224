"""The staff blueprint (posts, absence and its preview, on duty, reserve team, party
overlay, my grids, the duty board) against a recording fake RPC."""

from __future__ import annotations

from urllib.parse import quote

from contracts.errors import NotFound
from gateway.tests.answers import G1, G2, HAIXING, MICRO, assert_error

DUTY = {"grid_code": MICRO, "user_id": "u-b", "post": "part_time_worker", "ab": "B"}


def test_posts_are_read_in_scope_and_assigned_by_admins(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.get(f"/api/v1/grids/{G2}/posts", headers=worker), 404, "not_found")
    rpc.answer("grid", "list_posts", [])
    client.get(f"/api/v1/grids/{G1}/posts?subtree=true", headers=worker)
    assert rpc.last("grid", "list_posts").args == (G1, True)
    post = {"user_id": "u-9", "post": "full_time_worker", "display_name": "新人"}
    assert_error(
        client.post(f"/api/v1/grids/{G1}/posts", json=post, headers=worker), 403, "forbidden"
    )
    rpc.answer("grid", "assign_post", {**post, "id": "p", "grid_code": G1, "change": "created"})
    answer = client.post(f"/api/v1/grids/{G1}/posts", json=post, headers=bearer("community_admin"))
    assert answer.status_code == 200
    assert rpc.last("grid", "assign_post").args == ({**post, "grid_code": G1},)  # from the path


def test_absence_is_set_by_leaders_and_previewed_without_saving(client, rpc, bearer):
    path = f"/api/v1/grids/{MICRO}/posts/u-a/absence"
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.put(path, json={"absent": True}, headers=worker), 403, "forbidden")
    leader = bearer("grid_leader", scopes=(G1,))
    rpc.answer("grid", "set_absent", DUTY)
    answer = client.put(path, json={"absent": True}, headers=leader)
    assert answer.status_code == 200 and answer.json["ab"] == "B"
    call = rpc.last("grid", "set_absent")
    assert call.args == (MICRO, "u-a", True) and "dry_run" not in call.kwargs
    preview = client.get(f"{path}-preview?absent=true", headers=leader)
    assert preview.status_code == 200 and preview.json["user_id"] == "u-b"
    assert rpc.last("grid", "set_absent").kwargs["dry_run"] is True
    missing = client.get(f"{path}-preview", headers=leader)
    assert "absent" in assert_error(missing, 400, "validation_failed")
    assert_error(client.get(f"{path}-preview?absent=true", headers=worker), 403, "forbidden")


def test_on_duty_is_scoped_and_its_404_passes_through(client, rpc, bearer):
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.get(f"/api/v1/grids/{G2}/on-duty", headers=worker), 404, "not_found")
    rpc.answer("grid", "on_duty", NotFound(details={"grid_code": MICRO}))
    assert_error(client.get(f"/api/v1/grids/{MICRO}/on-duty", headers=worker), 404, "not_found")


def test_the_reserve_team_and_party_links_are_kept_by_leaders(client, rpc, bearer):
    leader, worker = bearer("grid_leader", scopes=(G1,)), bearer("grid_worker", scopes=(G1,))
    member = {"name": "临时志愿者", "kind": "volunteer", "phone": "13900001111"}
    assert_error(
        client.post(f"/api/v1/grids/{G1}/reserve", json=member, headers=worker), 403, "forbidden"
    )
    rpc.answer("grid", "remove_reserve_member", None)
    member_id = f"{G1}|volunteer|临时志愿者"
    gone = client.delete(f"/api/v1/grids/{G1}/reserve/{quote(member_id, safe='')}", headers=leader)
    assert gone.status_code == 204
    assert rpc.last("grid", "remove_reserve_member").args == (G1, member_id)
    path = f"/api/v1/grids/{G1}/party-links/{quote('党员甲', safe='')}"
    assert_error(client.delete(path, headers=worker), 403, "forbidden")
    other_leader = bearer("grid_leader", scopes=(G2,))  # not their grid
    assert_error(client.delete(path, headers=other_leader), 404, "not_found")
    rpc.answer("grid", "unlink_party_member", NotFound(details={"member_key": "党员甲"}))
    assert_error(client.delete(path, headers=leader), 404, "not_found")
    assert rpc.last("grid", "unlink_party_member").args == (G1, "党员甲")


def test_my_grids_and_the_duty_board(client, rpc, bearer):
    assert_error(client.get("/api/v1/me/grids", headers=bearer("resident")), 403, "forbidden")
    rpc.answer("grid", "my_grids", [])
    assert client.get("/api/v1/me/grids", headers=bearer("grid_worker", sub="u-7")).json == []
    assert rpc.last("grid", "my_grids").kwargs["caller"].actor == "u-7"
    worker = bearer("grid_worker", scopes=(G1,))
    assert_error(client.get("/api/v1/duty-board", headers=worker), 403, "forbidden")
    leader = bearer("grid_leader", scopes=(G1,))
    outside = client.get(f"/api/v1/duty-board?code={G2}", headers=leader)
    assert_error(outside, 404, "not_found")
    rpc.answer("grid", "duty_board", {"code": G1, "grids": []})
    assert client.get("/api/v1/duty-board", headers=leader).json["code"] == G1
    assert rpc.last("grid", "duty_board").args == (G1,)  # the leader's own grid
    village = bearer("instructor", scopes=(HAIXING,))
    assert "code" in assert_error(
        client.get("/api/v1/duty-board", headers=village), 400, "validation_failed"
    )
