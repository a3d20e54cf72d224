"""Fixtures for service tests: a real broker (own virtual host) and a real database server.

Nameko needs eventlet's monkey patching before anything else opens sockets or threads.
"""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from tests.realparts import broker_vhost, embedded_mongo  # noqa: E402

# every event a test records is checked against its contract schema (kit/outbox.py)
os.environ.setdefault("LIANXIN_CHECK_EVENTS", "1")


@pytest.fixture(scope="session")
def amqp_uri():
    with broker_vhost("lianxin-unit") as uri:
        yield uri


@pytest.fixture(scope="session")
def mongo_url():
    with embedded_mongo() as url:
        yield url


@pytest.fixture
def service_config(amqp_uri, mongo_url):
    """Config for one test's containers: its own databases on the shared server."""
    return {
        "AMQP_URI": amqp_uri,
        "MONGO_URL": mongo_url,
        "DB_PREFIX": f"t{uuid.uuid4().hex[:10]}_",
        "serializer": "json",
        "HEARTBEAT": 15,
    }
