"""Announcements over the real broker and database: a notice to 1,200 residents runs as a
job in batches with its progress, survives a runner that dies between batches (every
resident gets it once), counts reads and lists who has not read; the staff-post and
household-tag audiences; and a notice outside the sender's scopes, empty or oversized, or
urgent from someone who may not, is refused with nothing sent."""

from __future__ import annotations

import pytest

from contracts.errors import Forbidden, ValidationFailed
from services.notify.service import NotifyService
from services.notify.tests import peers
from services.notify.tests.conftest import Notify, user, wait_for

pytestmark = pytest.mark.interface
LEADER = user("leader-1", "grid_leader", scopes=(peers.L1,))
COMMUNITY = user("admin-c", "community_admin", scopes=(peers.VILLAGE,))
NOTICE = {
    "title": "停水通知",
    "body": "明天 9:00–12:00 停水。",
    "audience": {"kind": "grid", "code": peers.L1},
}


class DiesAfterTheFirstBatch(NotifyService):
    """A runner that dies between two batches, once (as a killed process would)."""

    name = "notify"
    died: list = []

    def _batch_sent(self, job, batch):
        if not self.died:
            self.died.append(batch["n"])
            raise RuntimeError("runner died")


@pytest.fixture
def residents():
    before = dict(peers.USERS)
    peers.residents(1200)
    yield
    peers.USERS.clear()
    peers.USERS.update(before)


@pytest.fixture
def dying(container_factory, service_config, tmp_path, monkeypatch, residents):
    monkeypatch.setenv("LIANXIN_DATA", str(tmp_path))
    config = {**service_config, "RPC_TIMEOUT": 5}
    for cls in (peers.GridStandIn, peers.IdentityStandIn):
        container_factory(cls, config).start()
    DiesAfterTheFirstBatch.died = []
    container = container_factory(DiesAfterTheFirstBatch, config)
    container.start()
    running = Notify(container, config)
    yield running
    running.live.conn.release()


def test_a_notice_to_1200_residents_is_a_job_that_resumes_and_counts_reads(dying):
    preview = dying.call("preview_announcement", NOTICE["audience"], caller=LEADER)
    assert preview["people"] == 1200 and preview["by_role"] == {"居民": 1200}
    assert preview["audience_zh"] == "海兴社区 一网格 · 居民"
    job = dying.call("publish_announcement", NOTICE, "notice-0001", "网格长 周", caller=LEADER)
    assert (job["state"], job["done"], job["progress"]) == ("resolving", 0, 0.0)
    # the same client id and body: the same job
    assert (
        dying.call("publish_announcement", NOTICE, "notice-0001", caller=LEADER)["id"] == job["id"]
    )

    def finished():
        now = dying.call("announcement", job["id"], caller=LEADER)
        return now if now["state"] == "done" else None

    done = wait_for(finished, 60)
    assert DiesAfterTheFirstBatch.died == [0]  # it died after batch 0 and resumed at batch 1
    assert (done["total"], done["done"], done["progress"]) == (1200, 1200, 1.0)
    assert any("runner died" in e for e in done["errors"])
    assert dying.db["messages"].count_documents({"announcement_id": job["id"]}) == 1200
    assert len(dying.db["messages"].distinct("user_id", {"announcement_id": job["id"]})) == 1200
    mine = dying.inbox("r00007")["items"][0]
    assert (mine["title"], mine["body"], mine["data"]["sender"]) == (
        "停水通知",
        "明天 9:00–12:00 停水。",
        "网格长 周",
    )
    dying.call("mark_read", [mine["id"]], caller=user("r00007", "resident"))
    assert dying.call("announcement", job["id"], caller=LEADER)["read"] == 1
    unread = dying.call("announcement_unread", job["id"], 3, 0, caller=LEADER)
    assert unread["total"] == 1199 and unread["items"][0] == {"user_id": "r00000", "name": "居民0"}
    listed = dying.call("announcements", caller=COMMUNITY)  # the community sees its grids'
    assert [a["id"] for a in listed] == [job["id"]]
    assert (
        dying.call("announcements", caller=user("x", "grid_leader", scopes=("330424104201",))) == []
    )


def test_posts_and_tag_audiences_and_refusals(notify):
    posts = {"kind": "posts", "code": peers.VILLAGE, "posts": ["full_time_worker", "grid_leader"]}
    reach = notify.call("preview_announcement", posts, caller=COMMUNITY)
    assert reach["people"] == 2 and reach["by_role"] == {"网格长": 1, "专职网格员": 1}
    tag = {"kind": "tag", "code": peers.L1, "tag": "elderly_alone"}
    reach = notify.call("preview_announcement", tag, caller=LEADER)
    assert (reach["households"], reach["people"]) == (2, 3)  # the 1幢 staff and the leader
    assert "独居老人家庭（由网格员转告）" in reach["audience_zh"]
    job = notify.call(
        "publish_announcement", {**NOTICE, "audience": tag}, "notice-0002", caller=LEADER
    )
    wait_for(lambda: notify.call("announcement", job["id"], caller=LEADER)["state"] == "done")
    told = notify.inbox("w2")["items"][0]
    assert told["data"]["households"] == 2 and told["kind"] == "announcement"

    outside = {**NOTICE, "audience": {"kind": "grid", "code": "330424104201"}}
    with pytest.raises(Forbidden):
        notify.call("publish_announcement", outside, "notice-0003", caller=LEADER)
    with pytest.raises(Forbidden):
        notify.call("preview_announcement", outside["audience"], caller=LEADER)
    with pytest.raises(Forbidden):  # a worker may not publish
        notify.call("publish_announcement", NOTICE, "notice-0004", caller=user("w1"))
    with pytest.raises(Forbidden):  # an urgent order comes from the town or above
        notify.call(
            "publish_announcement", {**NOTICE, "urgent": True}, "notice-0005", caller=LEADER
        )
    for bad in ({**NOTICE, "title": " "}, {**NOTICE, "body": "字" * 2001}, {**NOTICE, "title": ""}):
        with pytest.raises(ValidationFailed):
            notify.call("publish_announcement", bad, "notice-0006", caller=LEADER)
    assert notify.db["announcements"].count_documents({}) == 1  # only the tag notice
