"""Demo data of the points mall for `make run`: the two demo villages' funds and rules,
two partner supermarkets with goods (merchant01 works the till of 海兴便民超市), and a little
history (hand-given awards by leader01, one redemption by worker01). Loaded once: a
second run finds the fund already bought and adds nothing."""

from __future__ import annotations

from contracts.caller import Caller

HAIXING = "330424001001"  # 海兴社区 (the grid demo's community)
TENGJING = "330424104201"  # 滕泾村
WUYUAN = "330424001"  # 武原街道
DEMO = Caller.trusted("demo")

RULES = [
    {
        "name": "入户走访",
        "category": "livelihood",
        "trigger": "visit_logged",
        "points": 2,
        "daily_cap": 10,
    },
    {
        "name": "关爱走访",
        "category": "special_groups",
        "trigger": "visit_logged",
        "points": 4,
        "visit_kind": "care",
        "daily_cap": 12,
    },
    {
        "name": "上报事件被立案",
        "category": "opinions",
        "trigger": "case_registered",
        "points": 3,
        "period_cap": 60,
    },
    {
        "name": "事件办理（办结后到账）",
        "category": "livelihood",
        "trigger": "case_handled",
        "points": 5,
    },
    {
        "name": "矛盾纠纷调解办结",
        "category": "disputes",
        "trigger": "case_closed",
        "points": 8,
        "category_group": "disputes",
    },
    {"name": "按时办结", "category": "livelihood", "trigger": "case_closed_on_time", "points": 2},
    {"name": "群众好评", "category": "livelihood", "trigger": "case_evaluated_good", "points": 3},
]
GOODS = [
    {"name": "食用油 5L", "price": 60, "stock": 40, "per_person_limit": 2, "unit": "桶"},
    {"name": "大米 10kg", "price": 50, "stock": 60, "per_person_limit": 2, "unit": "袋"},
    {"name": "洗衣液", "price": 20, "stock": 80, "unit": "瓶"},
    {"name": "毛巾", "price": 8, "stock": 200, "unit": "条"},
    {"name": "酱油", "price": 10, "stock": 100, "unit": "瓶"},
]


def load(rpc, ids: dict[str, str]) -> dict:
    """`rpc`: a ClusterRpcProxy; `ids`: user name -> user id of the demo accounts."""
    if rpc.points.fund_of(HAIXING, caller=DEMO)["issued"] > 0:
        return {"loaded": False}
    for village in (HAIXING, TENGJING):
        rpc.points.set_village_settings(
            village,
            {"fen_per_point": 10, "expiry": {"mode": "year_end"}, "manual_threshold": 50},
            caller=DEMO,
        )
        rpc.points.top_up(village, 20_000, f"demo-topup-{village}", caller=DEMO)
        for rule in RULES:
            rpc.points.create_rule(village, rule, caller=DEMO)
    staff = [ids["merchant01"]] if "merchant01" in ids else []
    village_shop = rpc.points.create_shop(
        {"name": "海兴便民超市", "code": HAIXING, "staff": staff, "address": "海兴社区服务中心旁"},
        caller=DEMO,
    )
    town_shop = rpc.points.create_shop(
        {
            "name": "武原街道积分超市",
            "code": WUYUAN,
            "staff": staff,
            "address": "武原街道便民服务中心",
        },
        caller=DEMO,
    )
    items = {}
    for shop in (village_shop, town_shop):
        for good in GOODS:
            item = rpc.points.add_item(shop["id"], good, caller=DEMO)
            items.setdefault(shop["id"], []).append(item)
    history = 0
    leader = ids.get("leader01")
    if leader:
        caller = Caller(leader, ("grid_leader",), (HAIXING + "-001",))
        for username, points, reason, category in (
            ("worker01", 40, "防汛值守两晚", "org_life"),
            ("worker02", 30, "协助组织党员活动", "org_life"),
            ("worker01", 25, "政策宣传入户", "policy_law"),
        ):
            if username in ids:
                rpc.points.request_manual(
                    {
                        "user_id": ids[username],
                        "grid_code": HAIXING + "-001",
                        "points": points,
                        "direction": "award",
                        "reason": reason,
                        "category": category,
                    },
                    f"demo-manual-{username}-{points}",
                    caller=caller,
                )
                history += 1
    if "worker01" in ids and staff:
        worker = Caller(ids["worker01"], ("grid_worker",), (HAIXING + "-001",))
        pack = rpc.points.issue_tokens(1, "网格员 李梅", caller=worker)
        cashier = Caller(staff[0], ("merchant_staff",), (HAIXING,))
        towel = items[village_shop["id"]][3]
        rpc.points.redeem(
            village_shop["id"],
            {"token": pack["tokens"][0]["token"]},
            [{"item_id": towel["id"], "qty": 2}],
            caller=cashier,
        )
        history += 1
    return {"loaded": True, "shops": 2, "history": history}
