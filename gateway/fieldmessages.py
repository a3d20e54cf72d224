"""Marshmallow's field messages in Chinese, for the `details` of a 400 answer."""

from __future__ import annotations

import re

# (pattern of marshmallow's English message, Chinese text using the pattern's groups)
ZH = [
    (r"Missing data for required field\.", "必填项"),
    (r"Unknown field\.", "不认识的字段"),
    (r"Field may not be null\.", "不能为空"),
    (r"Not a valid string\.", "应为文字"),
    (r"Not a valid integer\.", "应为整数"),
    (r"Not a valid number\.", "应为数字"),
    (r"Not a valid boolean\.", "应为是或否（true/false）"),
    (r"Not a valid list\.", "应为列表"),
    (r"Not a valid mapping type\.", "应为对象"),
    (r"Invalid input type\.", "类型不对"),
    (r"Not a valid datetime\.", "应为 ISO 8601 日期时间"),
    (r"Not a valid date\.", "应为 ISO 8601 日期（如 2026-11-22）"),
    (r"Not a valid email address\.", "邮箱格式不对"),
    (r"Must be one of: (.+)\.", r"只能是以下之一：\1"),
    (r"String does not match expected pattern\.", "格式不对"),
    (r"Shorter than minimum length (\d+)\.", r"至少 \1 个字符"),
    (r"Longer than maximum length (\d+)\.", r"最多 \1 个字符"),
    (r"Length must be between (\d+) and (\d+)\.", r"长度应在 \1 到 \2 之间"),
    (
        r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.",
        r"应在 \1 到 \2 之间",
    ),
    (r"Must be greater than or equal to (\S+)\.", r"不能小于 \1"),
    (r"Must be less than or equal to (\S+)\.", r"不能大于 \1"),
]
_COMPILED = [(re.compile(f"^{p}$"), zh) for p, zh in ZH]


def to_chinese(details):
    """Translate every message string inside marshmallow's nested error dict/list."""
    if isinstance(details, dict):
        return {key: to_chinese(value) for key, value in details.items()}
    if isinstance(details, list):
        return [to_chinese(value) for value in details]
    if isinstance(details, str):
        for pattern, zh in _COMPILED:
            if pattern.match(details):
                return pattern.sub(zh, details)
    return details
