"""The points mall (积分超市): a worker's points and redemption codes, the cashier's till,
and the village operator's funds, rules, refusals, manual awards, supermarkets, statements
and rankings.

Every route passes the caller as `caller=`; the points service checks roles and scope
again (a record outside the caller's scopes is 404, a role that may not act is 403).
Redemption is online only: the till never queues a redemption for later.
"""

from __future__ import annotations

import base64

from flask import Blueprint, Response, current_app, jsonify, request

from contracts import points_http as s
from gateway.api.grid_access import client_id, query
from gateway.body import json_body
from gateway.security import authenticated, current_caller, current_principal, requires_roles

bp = Blueprint("points", __name__, url_prefix="/api/v1/points")

EARNERS = ("grid_worker", "grid_leader", "instructor")
OPERATORS = ("community_admin", "town_admin", "county_admin", "operator")
TILL = ("merchant_staff", *OPERATORS)
LEADERS = ("grid_leader", *OPERATORS)


def points(method: str, *args, **kwargs):
    return current_app.extensions["rpc"].call(
        "points", method, *args, caller=current_caller(), **kwargs
    )


def _presented(data: dict) -> dict:
    return {k: data[k] for k in ("token", "code") if data.get(k)}


# --- the worker ---------------------------------------------------------------------------
@bp.get("/me")
@authenticated()
def my_points():
    """My points: available, pending, expiring, and the history with causes.
    ---
    security: bearer
    responses: {200: MyPointsOut, 401: Error}
    """
    return jsonify(points("my_points"))


@bp.get("/me/receipts")
@authenticated()
def my_receipts():
    """My redemption receipts, newest first.
    ---
    security: bearer
    responses: {200: [ReceiptOut], 401: Error}
    """
    return jsonify(points("my_receipts"))


@bp.post("/me/tokens")
@requires_roles(*EARNERS)
def issue_tokens():
    """A pack of single-use signed redemption codes (QR + 8-digit code), fetched while
    online so the phone can show one at the till while offline. Valid 24 hours.
    ---
    security: bearer
    requestBody: CodePackIn
    responses: {200: CodePackOut, 400: Error, 401: Error, 403: Error}
    """
    data = json_body(s.CodePackIn()) if request.get_data(cache=True).strip() else {"count": 5}
    return jsonify(points("issue_tokens", data["count"], current_principal().name))


@bp.get("/shops")
@authenticated()
def list_shops():
    """Supermarkets I may see: my tills, the ones serving my villages, or my area's.
    ---
    security: bearer
    parameters: [code]
    responses: {200: [ShopOut], 401: Error}
    """
    return jsonify(points("list_shops", request.args.get("code") or None))


@bp.get("/shops/<shop_id>/items")
@authenticated()
def shop_items(shop_id: str):
    """A supermarket's catalogue: goods, point prices, stock and per-person limits.
    ---
    security: bearer
    responses: {200: [ItemOut], 401: Error, 404: Error}
    """
    return jsonify(points("shop_items", shop_id))


# --- the till -------------------------------------------------------------------------------
@bp.post("/till/lookup")
@requires_roles(*TILL)
def till_lookup():
    """What the cashier sees after scanning a code: who, their points here, the goods.
    ---
    security: bearer
    requestBody: LookupIn
    responses: {200: LookupOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.LookupIn())
    return jsonify(points("till_lookup", data["shop_id"], _presented(data)))


@bp.post("/redemptions")
@requires_roles(*TILL)
def redeem():
    """Redeem a basket with a scanned token or a typed code; answers the receipt. Sent
    again with the same code and basket it answers the same receipt; a used code with
    another basket is 409 redemption_code_used. Over the balance, the stock or a
    per-person limit: 409, and nothing moves.
    ---
    security: bearer
    requestBody: RedeemIn
    responses: {201: ReceiptOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.RedeemIn())
    receipt = points("redeem", data["shop_id"], _presented(data), data["items"])
    return jsonify(receipt), 201


@bp.post("/redemptions/<redemption_id>/refund")
@requires_roles(*TILL)
def refund(redemption_id: str):
    """Refund a whole redemption within the refund window: points back, stock back.
    ---
    security: bearer
    requestBody: RefundIn
    responses: {200: ReceiptOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.RefundIn())
    return jsonify(points("refund", redemption_id, data["reason"]))


@bp.get("/shops/<shop_id>/redemptions")
@requires_roles(*TILL)
def shop_redemptions(shop_id: str):
    """A supermarket's redemptions of one day (Beijing date; default today).
    ---
    security: bearer
    parameters: [day]
    responses: {200: null, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(s.DayQuery())
    day = args["day"].isoformat() if args.get("day") else None
    return jsonify(points("shop_redemptions", shop_id, day))


# --- supermarkets and goods -----------------------------------------------------------------
@bp.post("/shops")
@requires_roles(*OPERATORS)
def create_shop():
    """Register a partner supermarket of a village or town, with its cashiers' user ids.
    ---
    security: bearer
    requestBody: ShopIn
    responses: {201: ShopOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(points("create_shop", json_body(s.ShopIn()))), 201


@bp.patch("/shops/<shop_id>")
@requires_roles(*OPERATORS)
def update_shop(shop_id: str):
    """Rename a supermarket or change its cashiers (at the version you saw).
    ---
    security: bearer
    requestBody: ShopChangeIn
    responses: {200: ShopOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.ShopChangeIn())
    version = data.pop("version")
    return jsonify(points("update_shop", shop_id, version, data))


@bp.post("/shops/<shop_id>/items")
@requires_roles(*TILL)
def add_item(shop_id: str):
    """Add goods to a supermarket's catalogue (its cashiers or the area's operators).
    ---
    security: bearer
    requestBody: ItemIn
    responses: {201: ItemOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(points("add_item", shop_id, json_body(s.ItemIn()))), 201


@bp.patch("/items/<item_id>")
@requires_roles(*TILL)
def update_item(item_id: str):
    """Change price, stock, limit or whether goods are offered (at the version you saw).
    ---
    security: bearer
    requestBody: ItemChangeIn
    responses: {200: ItemOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.ItemChangeIn())
    version = data.pop("version")
    return jsonify(points("update_item", item_id, version, data))


# --- the village operator -------------------------------------------------------------------
@bp.get("/villages/<village>")
@requires_roles(*OPERATORS)
def fund_of(village: str):
    """A village collective's fund: balance, points bought and paid, recent top-ups.
    ---
    security: bearer
    responses: {200: FundOut, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(points("fund_of", village))


@bp.post("/villages/<village>/topups")
@requires_roles(*OPERATORS)
def top_up(village: str):
    """Top up the fund: the only way points enter. A client id is required; the same id
    and amount answers the first result, another amount is 409.
    ---
    security: bearer
    requestBody: TopUpIn
    responses: {201: FundOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.TopUpIn())
    cid = client_id(data, required=True)
    return jsonify(points("top_up", village, data["points"], cid)), 201


@bp.get("/villages/<village>/settings")
@requires_roles(*OPERATORS)
def village_settings(village: str):
    """The collective's rate (fen per point), expiry policy, approval threshold, refund
    window and reminder lead.
    ---
    security: bearer
    responses: {200: SettingsOut, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(points("village_settings", village))


@bp.put("/villages/<village>/settings")
@requires_roles(*OPERATORS)
def set_village_settings(village: str):
    """Change the collective's settings (from now on).
    ---
    security: bearer
    requestBody: SettingsIn
    responses: {200: SettingsOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(points("set_village_settings", village, json_body(s.SettingsIn())))


@bp.get("/villages/<village>/refusals")
@requires_roles(*OPERATORS)
def refusals(village: str):
    """Awards that could not be made (rule not in force, fund short, cap reached) and why.
    ---
    security: bearer
    parameters: [state, limit]
    responses: {200: [RefusalOut], 401: Error, 403: Error, 404: Error}
    """
    args = query(s.StateQuery())
    state = args.get("state", "open")
    return jsonify(points("refusals", village, None if state == "all" else state, args["limit"]))


@bp.post("/refusals/<refusal_id>/retry")
@requires_roles(*OPERATORS)
def retry_refusal(refusal_id: str):
    """Try a refused award again (after a top-up). Already awarded: 409.
    ---
    security: bearer
    responses: {200: null, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    return jsonify(points("retry_refusal", refusal_id))


@bp.get("/rules")
@authenticated()
def list_rules():
    """The earning rules a village lives under (its own and its town's), every version.
    ---
    security: bearer
    parameters: [code]
    responses: {200: null, 400: Error, 401: Error, 404: Error}
    """
    return jsonify(points("list_rules", query(s.RulesQuery())["code"]))


@bp.post("/rules")
@requires_roles(*OPERATORS)
def create_rule():
    """Set an earning rule for a town or village, in force from valid_from (now or later).
    ---
    security: bearer
    requestBody: RuleIn
    responses: {201: RuleOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    data = json_body(s.RuleIn())
    code = data.pop("code")
    return jsonify(points("create_rule", code, _times(data))), 201


@bp.put("/rules/<rule_id>")
@requires_roles(*OPERATORS)
def change_rule(rule_id: str):
    """A new version of a rule from valid_from (never retroactive); 409 if another
    version came first.
    ---
    security: bearer
    requestBody: RuleChangeIn
    responses: {200: RuleOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.RuleChangeIn())
    version = data.pop("version")
    return jsonify(points("change_rule", rule_id, version, _times(data)))


def _times(data: dict) -> dict:
    for key in ("valid_from", "valid_until"):
        if data.get(key) is not None:
            data[key] = data[key].isoformat()
    return data


@bp.post("/manual")
@requires_roles(*LEADERS)
def request_manual():
    """A grid leader awards or deducts points by hand, with a reason. Above the village's
    threshold it waits for a second person's approval. A client id is required.
    ---
    security: bearer
    requestBody: ManualIn
    responses: {201: ManualOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.ManualIn())
    cid = client_id(data, required=True)
    return jsonify(points("request_manual", data, cid)), 201


@bp.get("/villages/<village>/manual")
@requires_roles(*LEADERS)
def manual_requests(village: str):
    """Manual awards and deductions of a village (state=awaiting_approval to approve).
    ---
    security: bearer
    parameters: [state, limit]
    responses: {200: [ManualOut], 401: Error, 403: Error, 404: Error}
    """
    args = query(s.StateQuery())
    return jsonify(points("manual_requests", village, args.get("state"), args["limit"]))


@bp.post("/manual/<request_id>/decision")
@requires_roles(*LEADERS)
def decide_manual(request_id: str):
    """Approve (the points move) or reject a manual request; not one's own.
    ---
    security: bearer
    requestBody: DecisionIn
    responses: {200: ManualOut, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    data = json_body(s.DecisionIn())
    return jsonify(points("decide_manual", request_id, data["approve"], data.get("note")))


# --- statements and reports -------------------------------------------------------------------
@bp.get("/shops/<shop_id>/statements/<period>")
@requires_roles(*TILL)
def statement(shop_id: str, period: str):
    """A supermarket's monthly statement: per village, points and yuan owed; paid or not.
    ---
    security: bearer
    responses: {200: StatementOut, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    return jsonify(points("statement", shop_id, period))


@bp.get("/shops/<shop_id>/statements/<period>/export")
@requires_roles(*TILL)
def statement_file(shop_id: str, period: str):
    """The statement as a file: format=csv (UTF-8 with BOM) or xlsx.
    ---
    security: bearer
    parameters: [format]
    responses: {200: download, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    fmt = query(s.StatementFileQuery())["format"]
    found = points("statement_file", shop_id, period, fmt)
    return Response(
        base64.b64decode(found["data"]),
        content_type=found["content_type"],
        headers={"Content-Disposition": f'attachment; filename="{found["filename"]}"'},
    )


@bp.post("/shops/<shop_id>/statements/<period>/paid")
@requires_roles(*OPERATORS)
def mark_paid(shop_id: str, period: str):
    """The collective paid the month: points settle and the month closes (409 if done).
    ---
    security: bearer
    responses: {200: StatementOut, 401: Error, 403: Error, 404: Error, 409: Error}
    """
    return jsonify(points("mark_statement_paid", shop_id, period))


@bp.get("/rankings")
@authenticated()
def rankings():
    """积分排名: workers (by=worker) or grids (by=grid) under a grid, village or town in a
    period (YYYY, YYYYQn or YYYY-MM).
    ---
    security: bearer
    parameters: [code, period, by]
    responses: {200: RankingOut, 400: Error, 401: Error, 404: Error}
    """
    args = query(s.RankingQuery())
    return jsonify(points("rankings", args["code"], args["period"], args["by"]))


@bp.get("/assessment")
@requires_roles("grid_leader", "instructor", *OPERATORS)
def assessment():
    """Points by duty category per worker for a year (the annual assessment).
    ---
    security: bearer
    parameters: [code, year]
    responses: {200: null, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(s.AssessmentQuery())
    return jsonify(points("assessment", args["code"], args["year"]))


@bp.get("/villages/<village>/redemption-day")
@requires_roles(*OPERATORS)
def redemption_day(village: str):
    """积分兑换日: a village's redemptions of a day, goods handed out, workers' balances.
    ---
    security: bearer
    parameters: [day]
    responses: {200: null, 400: Error, 401: Error, 403: Error, 404: Error}
    """
    args = query(s.DayQuery())
    day = args["day"].isoformat() if args.get("day") else None
    return jsonify(points("redemption_day", village, day))
