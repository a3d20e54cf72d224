"""Gateway settings from the environment, with defaults that run locally."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from services.kit import settings

ROOT = Path(__file__).resolve().parent.parent
ALL_SERVICES = "identity,grid,cases,points,notify"


def jwt_secret(data_dir: Path) -> str:
    """JWT_SECRET_KEY, or one made once and kept in the data folder (tokens survive restarts)."""
    if os.environ.get("JWT_SECRET_KEY"):
        return os.environ["JWT_SECRET_KEY"]
    path = data_dir / "jwt-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def from_env() -> dict:
    data_dir = Path(os.environ.get("LIANXIN_DATA", ROOT / "var"))
    return {
        "AMQP_URI": settings.amqp_uri(),
        "MONGO_URL": settings.mongo_url(),
        "RPC_TIMEOUT": float(os.environ.get("RPC_TIMEOUT", "10")),
        "RPC_POOL_SIZE": int(os.environ.get("RPC_POOL_SIZE", "8")),
        "JWT_SECRET_KEY": jwt_secret(data_dir),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=15),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=14),
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_BODY_BYTES", str(2 * 1024 * 1024))),
        "PWA_DIST": os.environ.get("PWA_DIST", str(ROOT / "pwa" / "dist")),
        # the services /readyz waits for (a partial deployment can name fewer)
        "SERVICES": tuple(os.environ.get("LIANXIN_SERVICES", ALL_SERVICES).split(",")),
        # The PWA's refresh token: an HttpOnly, SameSite=Strict cookie sent only to the
        # sign-in routes (Secure when the request came over HTTPS; see gateway/api/auth.py).
        "JWT_REFRESH_COOKIE_NAME": "lianxin_refresh",
        "JWT_REFRESH_COOKIE_PATH": "/api/v1/auth",
        "JWT_COOKIE_CSRF_PROTECT": False,  # SameSite=Strict already keeps other sites out
        # Rate limits (gateway/ratelimit.py): counters in MongoDB, shared by every worker.
        "RATELIMIT_STORAGE_URI": _env("RATE_LIMIT_STORAGE", settings.mongo_url()),
        "RATELIMIT_STORAGE_OPTIONS": {
            "database_name": settings.db_name("limits"),
            "serverSelectionTimeoutMS": 2000,  # a database that is down: fall back fast
            "connectTimeoutMS": 2000,
        },
        "RATE_LIMIT_LOGIN_IP": _env("RATE_LIMIT_LOGIN_IP", "30 per minute; 300 per hour"),
        "RATE_LIMIT_LOGIN_FAILURES_IP": _env("RATE_LIMIT_LOGIN_FAILURES_IP", "10 per minute"),
        "RATE_LIMIT_LOGIN_ACCOUNT": _env("RATE_LIMIT_LOGIN_ACCOUNT", "10 per minute"),
        "RATE_LIMIT_REFRESH_IP": _env("RATE_LIMIT_REFRESH_IP", "60 per minute"),
        "RATE_LIMIT_API_KEY": _env("RATE_LIMIT_API_KEY", "600 per minute"),
        "RATE_LIMIT_PUBLIC": _env("RATE_LIMIT_PUBLIC", "120 per minute"),
        # How many proxies in front set X-Forwarded-For/-Proto (0: trust none). The limits
        # count per client address, so behind a proxy this must be set.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # Ended sessions and profiles pushed by identity (gateway/identity_feed.py); 0: ask.
        "REVOCATION_FEED": os.environ.get("REVOCATION_FEED", "1") != "0",
    }
