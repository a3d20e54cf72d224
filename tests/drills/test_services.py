"""kill -9 of each service in the middle of its work, under the visit load: the supervisor
starts it again, the message it was handling comes again and is applied once, and a client
that retries with the same client id gets the first answer."""

from __future__ import annotations

import threading
import time

from tests.drills.effects import PREFIX, Tally
from tests.drills.harness import MICRO
from tests.drills.imports import household_import, households_once
from tests.drills.load import Write

UNIT_1 = {"lon": 120.94087, "lat": 30.5195}  # 海兴社区 一网格 1幢1单元: worker01's A post


def in_background(work) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["value"] = work()
        except Exception as exc:  # shown by the test that joins
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def joined(thread: threading.Thread, result: dict, timeout: float = 150):
    thread.join(timeout)
    assert not thread.is_alive(), "the client never finished"
    if "error" in result:
        raise result["error"]
    return result["value"]


def kill_and_recover(drills, drill, name: str) -> float:
    drill.fault()
    killed = drills.kill(name)
    took = drills.wait_restarted(name, killed)
    drill.recovered(5)
    return took


def test_grid_killed_mid_visit(drills):
    with drills.drill("grid kill -9 (visits)") as drill:
        drill.warm()
        took = kill_and_recover(drills, drill, "grid")
        drill.note = f"grid back in {took:.1f} s"


def test_grid_killed_mid_import(drills):
    admin = drills.login("community01")["access_token"]
    upload = household_import("grid", 300, MICRO)
    with drills.drill("grid kill -9 (an import)") as drill:
        drill.warm()
        thread, result = in_background(lambda: upload.send(drills.client(admin)))
        time.sleep(1.0)  # the import is under way in the grid service
        kill_and_recover(drills, drill, "grid")
        sent = joined(thread, result)
        assert sent.answered, (sent.status, sent.answer)
        drill.extra_writes = 1
        drill.extra = drill.extra.add(households_once(drills.mongo, upload))
        answered = drills.tape.since(drill.fault_at)
        late = any(a.what == "import" and a.ok for a in answered)
        drill.note = f"the import answered {sent.status} after {sent.tries} tries, " + (
            "after the kill (it was under way)" if late else "before the kill"
        )


def test_identity_killed_mid_login_and_refresh(drills):
    first = drills.login("worker02")
    with drills.drill("identity kill -9 (login, refresh)") as drill:
        drill.warm()
        stop = threading.Event()
        logins: list[int] = []
        refreshes: list[int] = []
        refresh = {"token": first["refresh_token"]}

        def sign_in():
            client = drills.client()
            while not stop.is_set():
                body = {"username": "worker02", "password": "Demo@12345"}
                answer = client.call("POST", "/api/v1/auth/login", "login", json=body)
                logins.append(answer.status_code)

        def renew():
            # the PWA renews with the refresh token it holds; an answer lost to the fault
            # is asked for again with the same token
            while not stop.is_set():
                client = drills.client(refresh["token"])
                answer = client.call("POST", "/api/v1/auth/refresh", "refresh")
                refreshes.append(answer.status_code)
                if answer.status_code != 200:
                    return
                refresh["token"] = answer.json()["refresh_token"]
                time.sleep(0.1)

        threads = [in_background(sign_in), in_background(renew)]
        time.sleep(1.0)
        kill_and_recover(drills, drill, "identity")
        time.sleep(1.0)
        stop.set()
        for thread, result in threads:
            joined(thread, result)
        drill.extra_writes = len(logins) + len(refreshes)
        drill.note = f"{len(logins)} sign-ins, {len(refreshes)} refreshes"
        assert set(logins) == {200}, logins
        assert set(refreshes) == {200}, f"a retried refresh was refused: {refreshes}"
        final = drills.client(refresh["token"]).call("POST", "/api/v1/auth/refresh", "refresh")
        assert final.status_code == 200, final.text  # the session lives on


def report_case(drills, resident: str, category: str, lat: float) -> dict:
    body = {
        "category": category,
        "description": "演练：楼道堆物",
        "location": {**UNIT_1, "lat": lat},
    }
    write = Write(f"drill-case-{category}-{time.time_ns()}", "POST", "/api/v1/cases", body)
    drills.client(resident).send(write, "setup")
    assert write.answered, write.answer
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        case = drills.client(resident).call("GET", f"/api/v1/cases/{write.answer['id']}", "setup")
        if case.json()["state"] == "dispatched":
            return case.json()
        time.sleep(0.3)
    raise AssertionError(f"case not dispatched: {case.json()['state']}")


def test_cases_killed_mid_transition(drills):
    resident = drills.login("resident01")["access_token"]
    worker = drills.login("worker01")["access_token"]
    cases = [
        report_case(drills, resident, "ebike_charging", 30.5195),
        report_case(drills, resident, "fire_hazard", 30.5193),
    ]
    with drills.drill("cases kill -9 (transitions)") as drill:
        drill.warm()

        def steps():
            client = drills.client(worker)
            answers = []
            for case in cases:
                for action, extra in (("accept", {}), ("handle", {"note": "已处理"})):
                    body = {"action": action, "version": case["version"], **extra}
                    key = f"drill-{action}-{case['id']}"
                    path = f"/api/v1/cases/{case['id']}/transitions"
                    write = client.send(Write(key, "POST", path, body), "transition")
                    assert write.answered, (write.status, write.answer)
                    case = write.answer
                    answers.append(write)
            return answers

        thread, result = in_background(steps)
        time.sleep(0.3)
        kill_and_recover(drills, drill, "cases")
        answers = joined(thread, result)
        drill.extra_writes = len(answers)
        tally = Tally()
        for case in cases:
            now = drills.client(worker).call("GET", f"/api/v1/cases/{case['id']}", "check").json()
            assert now["state"] == "handled", now["state"]
            for action in ("accept", "handle"):
                count = sum(1 for e in now["timeline"] if e["action"] == action)
                if count != 1:
                    (tally.lost if count == 0 else tally.duplicated).append(
                        f"{action}:{case['id']}"
                    )
        # the handling earns points once (pending until the case is closed)
        tally = tally.add(awards_once(drills, [c["id"] for c in cases], "case_handled"))
        drill.extra = tally
        drill.note = f"{sum(a.tries for a in answers)} attempts for {len(answers)} steps"


def awards_once(drills, refs: list[str], trigger: str, timeout: float = 60) -> Tally:
    awards = drills.mongo[f"{PREFIX}points"]["awards"]
    deadline = time.monotonic() + timeout
    while True:
        counts = {
            r: awards.count_documents({"ref": r, "trigger": trigger})
            + drills.mongo[f"{PREFIX}points"]["refusals"].count_documents(
                {"fact.ref": r, "fact.trigger": trigger}
            )
            for r in refs
        }
        if all(counts.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return Tally(
        lost=[f"{trigger}:{r}" for r, n in counts.items() if n == 0],
        duplicated=[f"{trigger}:{r}" for r, n in counts.items() if n > 1],
    )


def test_points_killed_mid_award_and_redemption(drills):
    worker = drills.worker_token
    cashier = drills.login("merchant01")["access_token"]
    till = drills.client(cashier)
    shop = next(
        s
        for s in till.call("GET", "/api/v1/points/shops", "setup").json()
        if s["name"] == "海兴便民超市"
    )
    items = till.call("GET", f"/api/v1/points/shops/{shop['id']}/items", "setup").json()
    towel = next(i for i in items if i["name"] == "毛巾")
    wallet = drills.client(worker)
    pack = wallet.call("POST", "/api/v1/points/me/tokens", "setup", json={"count": 1})
    code = pack.json()["tokens"][0]["code"]
    me = wallet.call("GET", "/api/v1/points/me", "setup").json()
    assert me["available"] >= towel["price"], me  # the load's visits have earned enough
    redemptions = drills.mongo[f"{PREFIX}points"]["redemptions"]
    at_shop = {"shop_id": shop["id"]}  # only this drill redeems there
    before = redemptions.count_documents(at_shop)
    with drills.drill("points kill -9 (awards, a redemption)") as drill:
        drill.warm()
        basket = {
            "shop_id": shop["id"],
            "code": code,
            "items": [{"item_id": towel["id"], "qty": 1}],
        }
        write = Write(f"drill-redeem-{code}", "POST", "/api/v1/points/redemptions", basket)
        thread, result = in_background(lambda: till.send(write, "redemption"))
        time.sleep(0.1)
        kill_and_recover(drills, drill, "points")
        sent = joined(thread, result)
        assert sent.answered, (sent.status, sent.answer)
        drill.extra_writes = 1
        left = till.call("GET", f"/api/v1/points/shops/{shop['id']}/items", "check").json()
        stock = next(i for i in left if i["id"] == towel["id"])["stock"]
        tally = Tally()
        if stock != towel["stock"] - 1:
            (tally.lost if stock == towel["stock"] else tally.duplicated).append(f"stock:{stock}")
        made = redemptions.count_documents(at_shop) - before
        if made != 1:
            (tally.lost if made == 0 else tally.duplicated).append(f"redemptions:{made}")
        drill.extra = tally
        drill.note = f"the redemption answered {sent.status} after {sent.tries} tries"
