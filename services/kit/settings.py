"""Configuration from the environment, with defaults that run on a developer's machine."""

import os

DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO_URL = "mongodb://127.0.0.1:27217/?directConnection=true"


def amqp_uri() -> str:
    return os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI


def mongo_url() -> str:
    return os.environ.get("MONGO_URL") or DEFAULT_MONGO_URL


def db_name(service: str, config: dict | None = None) -> str:
    """One database per service; a prefix lets test runs share a server without meeting."""
    prefix = (config or {}).get("DB_PREFIX") or os.environ.get("DB_PREFIX") or "wg_"
    return prefix + service


def nameko_config() -> dict:
    """The nameko config every process uses: JSON on the wire and a heartbeat RabbitMQ likes."""
    return {
        "AMQP_URI": amqp_uri(),
        "MONGO_URL": mongo_url(),
        "DB_PREFIX": os.environ.get("DB_PREFIX", "wg_"),
        "serializer": "json",
        "HEARTBEAT": 15,
        "max_workers": int(os.environ.get("NAMEKO_MAX_WORKERS", "10")),
    }
