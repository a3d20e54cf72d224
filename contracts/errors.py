"""Error codes shared by services and the gateway.

Services raise these; nameko carries them over RPC as real instances (registered with
`deserialize_to_instance`), and the gateway turns them into
`{"error": code, "message": text, "details": ...}` with the class's HTTP status, in the
caller's language.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import deserialize_to_instance

# code -> (HTTP status, zh-CN message, English message). Messages may use {details} keys.
CATALOG: dict[str, tuple[int, str, str]] = {
    "bad_request": (400, "请求有误", "The request is not valid"),
    "invalid_json": (400, "请求内容不是有效的 JSON", "The request body is not valid JSON"),
    "validation_failed": (400, "填写的内容有误，请检查标出的字段", "Some fields are not valid"),
    "payload_too_large": (413, "提交的内容太大", "The request body is too large"),
    "unauthorized": (401, "请先登录", "Please log in"),
    "invalid_credentials": (401, "用户名或密码错误", "Wrong user name or password"),
    "token_expired": (401, "登录已过期，请重新登录", "Your session has expired, log in again"),
    "token_invalid": (401, "登录凭证无效，请重新登录", "The token is not valid, log in again"),
    "token_revoked": (401, "登录已失效，请重新登录", "This session was ended, log in again"),
    "wrong_token_type": (401, "凭证类型不对", "This kind of token cannot be used here"),
    "refresh_reused": (
        401,
        "检测到登录凭证被重复使用，已退出所有相关会话，请重新登录",
        "A used refresh token was presented again; the session was ended, log in again",
    ),
    "api_key_invalid": (401, "API 密钥无效或已吊销", "The API key is not valid or was revoked"),
    "account_locked": (
        429,
        "密码错误次数过多，账号已临时锁定，请 {retry_after} 秒后再试",
        "Too many failed logins; try again in {retry_after} seconds",
    ),
    "account_disabled": (403, "账号已停用，请联系管理员", "This account is disabled"),
    "forbidden": (403, "没有权限进行此操作", "You are not allowed to do this"),
    "not_found": (404, "找不到该内容", "Not found"),
    "method_not_allowed": (405, "不支持该请求方法", "Method not allowed"),
    "conflict": (409, "内容已被修改，请刷新后再试", "The record changed meanwhile"),
    "idempotency_conflict": (
        409,
        "同一编号的请求内容不一致",
        "This client id was already used with a different body",
    ),
    "already_exists": (409, "已存在", "It already exists"),
    "rate_limited": (429, "操作太频繁，请稍后再试", "Too many requests, slow down"),
    "service_unavailable": (
        503,
        "服务暂时不可用，请稍后再试",
        "A service is not answering, try again shortly",
    ),
    # the points mall
    "insufficient_points": (
        409,
        "积分不足：可用 {available} 分，需要 {needed} 分",
        "Not enough points: {available} available, {needed} needed",
    ),
    "fund_short": (
        409,
        "村集体积分资金不足，请先充值",
        "The village fund holds too few points; top it up first",
    ),
    "out_of_stock": (409, "商品库存不足", "Not enough of this item in stock"),
    "over_limit": (409, "超过每人限兑数量", "More than one person may take of this item"),
    "redemption_code_invalid": (400, "兑换码无效", "This redemption code is not valid"),
    "redemption_code_expired": (
        400,
        "兑换码已过期，请在手机联网后刷新兑换码",
        "This redemption code has expired; refresh the codes while online",
    ),
    "redemption_code_used": (409, "兑换码已使用过", "This redemption code was already used"),
    "already_awarded": (409, "该事项已发放过积分", "Points were already awarded for this"),
    "period_closed": (409, "该月已结算，不能再变更", "That month is settled and closed"),
    "refund_window_passed": (
        409,
        "已超过可退货期限（{days} 天）",
        "Past the refund window ({days} days)",
    ),
    # the cases service
    "invalid_transition": (
        409,
        "案件当前状态（{state_zh}）不能进行此操作（{action_zh}）",
        "This case cannot take that step now (state {state}, action {action})",
    ),
    "outside_grids": (
        400,
        "该位置不在任何网格内，请重新定位或选择网格",
        "That location lies outside every grid; locate again or pick a grid",
    ),
    "photo_too_large": (
        413,
        "照片太大（上限 {max_bytes} 字节），请压缩后再传",
        "The photo is too large (at most {max_bytes} bytes)",
    ),
    "not_an_image": (
        400,
        "上传的文件不是可识别的图片（支持 JPEG、PNG、WebP）",
        "The upload is not an image we can read (JPEG, PNG or WebP)",
    ),
    "reopen_window_passed": (
        409,
        "已超过可重新办理的期限（结案后 {days} 天内）",
        "Past the reopening window ({days} days after closing)",
    ),
    "internal_error": (500, "系统出错了，请稍后再试", "Something went wrong on our side"),
}


def status_of(code: str) -> int:
    return CATALOG.get(code, CATALOG["bad_request"])[0]


def message_of(code: str, lang: str = "zh", details: Any = None) -> str:
    _, zh, en = CATALOG.get(code, CATALOG["bad_request"])
    text = zh if lang.startswith("zh") else en
    if isinstance(details, dict):
        try:
            return text.format(**details)
        except (KeyError, IndexError, ValueError):
            return text
    return text


class LianxinError(Exception):
    """Base of every named error; `code` picks status and message from CATALOG."""

    code = "bad_request"

    def __init__(self, message: str | None = None, details: Any = None):
        if isinstance(details, str):  # came over RPC: see below
            details = json.loads(details)
        # The args travel over RPC; nameko turns numbers inside them into strings, so the
        # details go as one JSON string and come back with their types.
        super().__init__(message, json.dumps(details, ensure_ascii=False, default=str))
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message or message_of(self.code, 'en', self.details)}"


deserialize_to_instance(LianxinError)


@deserialize_to_instance
class InvalidJson(LianxinError):
    code = "invalid_json"


@deserialize_to_instance
class Unauthorized(LianxinError):
    code = "unauthorized"


@deserialize_to_instance
class ValidationFailed(LianxinError):
    code = "validation_failed"


@deserialize_to_instance
class InvalidCredentials(LianxinError):
    code = "invalid_credentials"


@deserialize_to_instance
class AccountLocked(LianxinError):
    code = "account_locked"


@deserialize_to_instance
class AccountDisabled(LianxinError):
    code = "account_disabled"


@deserialize_to_instance
class RateLimited(LianxinError):
    """Too many requests from one address, account or key; details carry retry_after."""

    code = "rate_limited"


@deserialize_to_instance
class TokenRevoked(LianxinError):
    code = "token_revoked"


@deserialize_to_instance
class RefreshReused(LianxinError):
    code = "refresh_reused"


@deserialize_to_instance
class ApiKeyInvalid(LianxinError):
    code = "api_key_invalid"


@deserialize_to_instance
class Forbidden(LianxinError):
    code = "forbidden"


@deserialize_to_instance
class NotFound(LianxinError):
    code = "not_found"


@deserialize_to_instance
class Conflict(LianxinError):
    code = "conflict"


@deserialize_to_instance
class IdempotencyConflict(LianxinError):
    code = "idempotency_conflict"


@deserialize_to_instance
class AlreadyExists(LianxinError):
    code = "already_exists"


@deserialize_to_instance
class ServiceUnavailable(LianxinError):
    """A service another one needs did not answer in time (503, try again shortly)."""

    code = "service_unavailable"


# --- the points mall -----------------------------------------------------------------------
@deserialize_to_instance
class InsufficientPoints(LianxinError):
    code = "insufficient_points"


@deserialize_to_instance
class FundShort(LianxinError):
    code = "fund_short"


@deserialize_to_instance
class OutOfStock(LianxinError):
    code = "out_of_stock"


@deserialize_to_instance
class OverLimit(LianxinError):
    code = "over_limit"


@deserialize_to_instance
class TokenInvalid(LianxinError):
    code = "redemption_code_invalid"


@deserialize_to_instance
class TokenExpired(LianxinError):
    code = "redemption_code_expired"


@deserialize_to_instance
class TokenUsed(LianxinError):
    code = "redemption_code_used"


@deserialize_to_instance
class AlreadyAwarded(LianxinError):
    code = "already_awarded"


@deserialize_to_instance
class PeriodClosed(LianxinError):
    code = "period_closed"


@deserialize_to_instance
class RefundWindowPassed(LianxinError):
    code = "refund_window_passed"


# --- the cases service ----------------------------------------------------------------------
@deserialize_to_instance
class InvalidTransition(LianxinError):
    """The state table has no row for (state, action): details carry the case as it is now."""

    code = "invalid_transition"


@deserialize_to_instance
class OutsideGrids(LianxinError):
    code = "outside_grids"


@deserialize_to_instance
class PhotoTooLarge(LianxinError):
    code = "photo_too_large"


@deserialize_to_instance
class NotAnImage(LianxinError):
    code = "not_an_image"


@deserialize_to_instance
class ReopenWindowPassed(LianxinError):
    code = "reopen_window_passed"
