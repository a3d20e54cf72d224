"""One error shape for every failure: {"error": code, "message": text, "details": ...}.

Messages come in the caller's language (Accept-Language; Chinese unless English is asked
for), and a failure never shows a stack trace.
"""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException

from contracts.errors import LianxinError, message_of, status_of
from gateway.fieldmessages import to_chinese
from gateway.rpc import ServiceUnavailable

log = logging.getLogger("gateway.errors")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}


def language() -> str:
    try:
        return request.accept_languages.best_match(["zh", "en"], default="zh") or "zh"
    except RuntimeError:  # outside a request
        return "zh"


def error_response(code: str, details=None, status: int | None = None, headers=None):
    body = {"error": code, "message": message_of(code, language(), details), "details": details}
    response = jsonify(body)
    response.status_code = status or status_of(code)
    if response.status_code == 429 and isinstance(details, dict) and "retry_after" in details:
        response.headers["Retry-After"] = str(details["retry_after"])
    if code == "service_unavailable":  # a service (or one it needs) is down: come back soon
        response.headers["Retry-After"] = "5"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def install(app: Flask) -> None:
    @app.errorhandler(LianxinError)
    def named(exc: LianxinError):
        return error_response(exc.code, exc.details)

    @app.errorhandler(ValidationError)
    def invalid(exc: ValidationError):
        details = exc.normalized_messages()
        if language() == "zh":
            details = to_chinese(details)
        return error_response("validation_failed", details)

    @app.errorhandler(ServiceUnavailable)
    def unavailable(exc: ServiceUnavailable):
        log.warning("service unavailable: %s", exc)
        return error_response("service_unavailable", {"service": exc.service})

    @app.errorhandler(RemoteError)
    def remote(exc: RemoteError):
        # An unexpected exception inside a service: a bug. Log it, show no internals.
        log.error("remote error %s: %s", exc.exc_type, exc.value)
        return error_response("internal_error", {"request_id": g.get("request_id")})

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException):
        code = HTTP_CODES.get(exc.code or 500, "bad_request")
        return error_response(code, status=exc.code)

    @app.errorhandler(Exception)
    def unexpected(_exc: Exception):
        log.exception("unhandled error")
        return error_response("internal_error", {"request_id": g.get("request_id")})
