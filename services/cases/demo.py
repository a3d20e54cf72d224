"""Demo data of the cases service for `make run`: the working calendar with China's 2026
public holidays, and a few cases in 海兴社区 at every stage — one closed and rated (on the
public board), one waiting for worker01 to accept it, one with the community (noise is a
community matter), one escalated by a whistle. Loaded once: a second run finds
resident01's reports and adds nothing."""

from __future__ import annotations

import time

from contracts.caller import Caller

HAIXING = "330424001001"
DEMO = Caller.trusted("demo")
# 2026 public holidays (国务院办公厅) and the weekend days worked instead (调休)
HOLIDAYS = [
    "2026-01-01",
    "2026-01-02",
    "2026-02-16",
    "2026-02-17",
    "2026-02-18",
    "2026-02-19",
    "2026-02-20",
    "2026-02-23",
    "2026-04-06",
    "2026-05-01",
    "2026-05-04",
    "2026-05-05",
    "2026-06-19",
    "2026-09-25",
    "2026-10-01",
    "2026-10-02",
    "2026-10-05",
    "2026-10-06",
    "2026-10-07",
]
WORKDAYS = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
# points inside 海兴社区's first grids (services/grid/demo.py draws them from 120.9405, 30.519)
PLACES = [(120.9412, 30.5196), (120.9431, 30.5199), (120.9447, 30.5231), (120.9419, 30.5228)]
UNIT_1 = (120.94087, 30.5193)  # 海兴社区 一网格 1幢1单元: worker01 is its A post


def _person(ids: dict, name: str, role: str, scope: str = HAIXING) -> Caller:
    return Caller(ids[name], (role,), (scope,))


def _wait_dispatched(rpc, case_id: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        case = rpc.cases.get_case(case_id, caller=DEMO)
        if case["state"] != "reported":
            return case
        time.sleep(0.2)
    return case


def _as_assignee(case: dict) -> Caller:
    return Caller(case["assignee"]["id"], ("grid_worker",), (case["grid_code"],))


def load(rpc, ids: dict[str, str]) -> dict:
    """`rpc`: a ClusterRpcProxy; `ids`: user name -> user id of the demo accounts."""
    if "resident01" not in ids:
        return {"loaded": False}
    resident = _person(ids, "resident01", "resident")
    if rpc.cases.list_cases({"view": "reported", "limit": 1}, caller=resident)["items"]:
        return {"loaded": False}
    calendar = rpc.cases.get_calendar()
    if calendar["version"] == 0:
        rpc.cases.put_calendar(
            {"version": 0, "hours": calendar["hours"], "holidays": HOLIDAYS, "workdays": WORKDAYS},
            caller=DEMO,
        )
    leader = _person(ids, "leader01", "grid_leader")

    def report(who, n, category, description, place, **extra):
        body = {
            "category": category,
            "description": description,
            "location": {"lon": place[0], "lat": place[1]},
            **extra,
        }
        return rpc.cases.report(body, f"demo-case-{n}", caller=who)

    # 1. reported, handled, closed and rated: on the public board
    done = _wait_dispatched(
        rpc,
        report(resident, 1, "garbage_piled", "小区东门垃圾桶满溢，三天没人清运", PLACES[0])["id"],
    )
    if done["state"] == "dispatched":
        handler = _as_assignee(done)
        done = rpc.cases.transition(done["id"], "accept", done["version"], caller=handler)
        done = rpc.cases.transition(
            done["id"],
            "handle",
            done["version"],
            {"note": "已联系环卫清运，并增加清运频次"},
            caller=handler,
        )
        verifier = (
            leader
            if leader.actor != handler.actor
            else _person(ids, "community01", "community_admin")
        )
        done = rpc.cases.transition(done["id"], "close", done["version"], caller=verifier)
        rpc.cases.transition(
            done["id"],
            "evaluate",
            done["version"],
            {"rating": 5, "note": "处理很快，谢谢"},
            caller=resident,
        )
    # 2. dispatched to worker01 (A post of 1幢1单元), waiting to be accepted on the phone
    report(resident, 2, "corridor_clutter", "1幢1单元楼道堆放大量纸箱，堵塞消防通道", UNIT_1)
    # 3. just reported by a resident
    report(resident, 3, "noise", "晚上十点后楼下KTV噪音很大", PLACES[2])
    # 4. whistled up to the community: the neighbours' quarrel needs more than the grid
    loud = _wait_dispatched(
        rpc,
        report(resident, 4, "neighbour_dispute", "楼上漏水多次协商未果，邻里争吵", PLACES[3])["id"],
    )
    if loud["state"] == "dispatched":
        worker = _as_assignee(loud)
        loud = rpc.cases.transition(loud["id"], "accept", loud["version"], caller=worker)
        rpc.cases.transition(
            loud["id"],
            "whistle",
            loud["version"],
            {"reason": "涉及房屋维修责任，需社区协调物业"},
            caller=Caller(worker.actor, ("grid_worker",), (loud["grid_code"],)),
        )
    return {"loaded": True, "cases": 4}
