"""Rate limits: flask-limiter over `limits`, its counters in MongoDB so that one limit holds
across every gunicorn worker and gateway process.

What is limited (the figures are settings, see gateway/config.py and the README):
- sign-in, per client address (all tries, and failed tries on their own) and per account name;
- token refresh, per client address;
- API-key use, per key and per client address (counted before the key is checked);
- the public notice board (everything under /api/v1/public/), per client address.

Strategy: moving window. On SecantusDB 0.7 the fixed-window counter never resets (its
pipeline update with `$$NOW` does not run there) and the sliding-window counter fails with
an internal error; the moving window (one small array per key, `$push` + `$slice`) works on
both SecantusDB and MongoDB. A refusal is 429 `rate_limited` with Retry-After, in the usual
error shape.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from contracts.errors import RateLimited
from gateway.errors import error_response

log = logging.getLogger("gateway.ratelimit")
PUBLIC_PREFIX = "/api/v1/public/"


def client_ip() -> str:
    # Behind a proxy, TRUSTED_PROXIES makes ProxyFix put the client's address here.
    return request.remote_addr or "unknown"


def login_name() -> str:
    """The account a sign-in names (existing or not: the limit must not tell them apart)."""
    try:
        body = request.get_json(force=True, silent=True, cache=True)
    except Exception:  # a body the JSON check refuses: counted against the address alone
        body = None
    name = body.get("username") if isinstance(body, dict) else None
    if isinstance(name, str) and name.strip():
        return "name:" + name.strip()[:64]
    return "ip:" + client_ip()


def _setting(name: str):
    return lambda: current_app.config[name]


def _failed(response) -> bool:
    return response.status_code in (401, 429)


limiter = Limiter(
    key_func=client_ip,
    strategy="moving-window",
    headers_enabled=False,
    # the database unreachable: keep limiting, per process, until it answers again
    in_memory_fallback_enabled=True,
    default_limits=[_setting("RATE_LIMIT_PUBLIC")],
    default_limits_exempt_when=lambda: not request.path.startswith(PUBLIC_PREFIX),
)

# Decorators for the sign-in routes (gateway/api/auth.py).
login_per_ip = limiter.limit(_setting("RATE_LIMIT_LOGIN_IP"), scope="login-ip")
login_failures_per_ip = limiter.limit(
    _setting("RATE_LIMIT_LOGIN_FAILURES_IP"), scope="login-failures-ip", deduct_when=_failed
)
login_per_account = limiter.limit(
    _setting("RATE_LIMIT_LOGIN_ACCOUNT"), key_func=login_name, scope="login-account"
)
refresh_per_ip = limiter.limit(_setting("RATE_LIMIT_REFRESH_IP"), scope="refresh-ip")


def _retry_after(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


def hit_api_key(key: str) -> None:
    """Count one use of an API key, per key and per address; RateLimited past either limit."""
    items = parse_many(current_app.config["RATE_LIMIT_API_KEY"])
    who = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:24]
    try:
        for scope, ident in (("api-key", who), ("api-key-ip", client_ip())):
            for item in items:
                if not limiter.limiter.hit(item, scope, ident):
                    reset_at, _ = limiter.limiter.get_window_stats(item, scope, ident)
                    raise RateLimited(details={"retry_after": _retry_after(reset_at)})
    except RateLimited:
        raise
    except Exception:  # the counters' database is down: let the key be checked as usual
        log.warning("API-key rate limit not checked: storage unavailable", exc_info=True)


def install(app: Flask) -> None:
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many(_exc: RateLimitExceeded):
        current = limiter.current_limit
        retry = _retry_after(current.reset_at) if current else 60
        return error_response("rate_limited", {"retry_after": retry})
