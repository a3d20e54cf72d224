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
    }
