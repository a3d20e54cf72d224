"""What the grid blueprint tests check of an error answer."""

from __future__ import annotations

HAIXING = "330424001001"  # 海兴社区: the default scope of `bearer`
G1 = f"{HAIXING}-001"
G2 = f"{HAIXING}-002"
MICRO = f"{G1}-01-01"
TENGJING = "330424104201"  # 滕泾村, outside the default scope


def assert_error(answer, status: int, code: str) -> dict:
    """The one error shape, with the status and code expected; its details."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["error"] == code, body
    assert body["message"] and "Traceback" not in answer.get_data(as_text=True)
    return body["details"]
