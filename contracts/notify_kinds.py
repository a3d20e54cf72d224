"""The kinds of notification: label, the variables a template may use, the default template in
Simplified Chinese, whether the kind is critical (overrides quiet hours, may go by SMS) and
whether a burst of it is digested. One list for the service, the HTTP schemas and (through
the API) the PWA's settings screen. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.grid_vocabulary import VOCABULARY

CHANNELS = ("live", "push", "sms")  # the inbox always keeps a message; these tell the user
CHANNEL_LABELS = {"live": "应用内提醒", "push": "手机推送", "sms": "短信（仅紧急）"}

CASE_VARIABLES = ("number", "title", "place", "category", "deadline", "reason", "rating")


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    title: str  # default templates
    body: str
    variables: tuple[str, ...]
    critical: bool = False
    digest: str | None = None  # a burst becomes this one line ({count}, {place})
    editable: bool = True  # announcements carry the sender's own words


KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "case_dispatched",
            "新案件派单",
            "新案件：{title}",
            "案件 {number}，地点：{place}，请在 {deadline} 前处理。",
            CASE_VARIABLES,
            digest="{count} 件新案件（{place}）",
        ),
        Kind(
            "case_escalated",
            "案件升级",
            "案件升级：{title}",
            "案件 {number}（{place}）已上报到您处，原因：{reason}。请在 {deadline} 前报到。",
            CASE_VARIABLES,
        ),
        Kind(
            "case_overdue_soon",
            "即将超时提醒",
            "即将超时：{title}",
            "案件 {number}（{place}）将于 {deadline} 超时，请尽快处理。",
            CASE_VARIABLES,
            digest="{count} 件案件即将超时（{place}）",
        ),
        Kind(
            "case_overdue",
            "案件超时督办",
            "案件已超时：{title}",
            "案件 {number}（{place}）已超过办理时限 {deadline}，已列入督办。",
            CASE_VARIABLES,
            critical=True,
        ),
        Kind(
            "case_returned",
            "案件退回重办",
            "案件被退回：{title}",
            "案件 {number}（{place}）被退回重办，原因：{reason}。",
            CASE_VARIABLES,
        ),
        Kind(
            "case_closed",
            "案件办结",
            "您反映的问题已办结",
            "案件 {number}「{title}」已办结，欢迎对办理结果进行评价。",
            CASE_VARIABLES,
        ),
        Kind(
            "case_evaluated",
            "群众评价",
            "案件收到评价：{rating} 星",
            "案件 {number}「{title}」的群众评价为 {rating} 星。",
            CASE_VARIABLES,
        ),
        Kind(
            "points_awarded",
            "积分到账",
            "积分 +{amount}",
            "获得 {amount} 积分（{status}），可用余额 {balance} 分。",
            ("amount", "status", "balance", "reason"),
            digest="{count} 笔积分到账",
        ),
        Kind(
            "points_expiring",
            "积分即将过期",
            "{amount} 积分即将过期",
            "您有 {amount} 积分将于 {expires_at} 过期，请及时到积分超市兑换。",
            ("amount", "expires_at"),
        ),
        Kind(
            "points_redeemed",
            "积分兑换",
            "积分兑换成功",
            "在 {supermarket} 兑换 {items} 件商品，使用 {amount} 积分，余额 {balance} 分。",
            ("supermarket", "items", "amount", "balance"),
        ),
        Kind(
            "staff_assigned",
            "岗位变动",
            "岗位变动：{place}",
            "{change}：{place} {post}{ab}。",
            ("place", "post", "ab", "change"),
        ),
        Kind(
            "visits_overdue",
            "走访逾期提醒",
            "走访提醒：{place}",
            "{place} 有 {overdue} 户本期尚未走访，距期末还有 {days_left} 天。",
            ("place", "overdue", "days_left", "period"),
            digest="{count} 个网格有逾期走访",
        ),
        Kind(
            "announcement",
            "公告通知",
            "{title}",
            "{body}",
            ("title", "body", "sender"),
            editable=False,
        ),
    )
}
KIND_CODES = tuple(KINDS)
EDITABLE_KINDS = tuple(k for k, v in KINDS.items() if v.editable)

# The audiences of an announcement (公示公告)
AUDIENCES = ("grid", "posts", "tag")
AUDIENCE_ROLES = ("resident", "grid_worker", "grid_leader", "instructor")
# who may publish, and who may mark a notice urgent (a wartime order overrides quiet hours)
PUBLISHERS = tuple(VOCABULARY["role_groups"]["notice_publishers"])
URGENT_PUBLISHERS = tuple(VOCABULARY["role_groups"]["urgent_notice_publishers"])
