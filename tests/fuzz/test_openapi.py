"""The fuzzing tier (issue 7 §7): schemathesis reads the OpenAPI document and sends generated
requests to every operation, bodies that fit the schemas and bodies that do not (wrong
types, missing and extra fields, odd unicode); no answer may be a 5xx. One test per
operation; a failure prints the request as a curl command.

The document is built from the gateway's code at collection time, exactly as the gateway
serves it; the requests go to the whole system (the one the end-to-end tests use, after
them: pytest collects tests/fuzz last), signed in as a user holding every role but scoped
to a division code that does not exist, so whatever the generator manages to write lands
nowhere that another test reads. Generation is deterministic, so a failure comes back on
the next run.
"""

from __future__ import annotations

import tempfile
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from contracts.roles import ROLES
from gateway.app import create_app
from gateway.openapi import build_spec

pytestmark = pytest.mark.e2e
NOWHERE = "990000"  # 99 is no province: no grid or household is filed under it
EXAMPLES = 10  # per operation (~2,300 requests): the tier stays within about 1.5 minutes
# Logging out would end the fuzzer's own session; the refusals it gives are covered elsewhere.
SKIP = r"/api/v1/auth/logout$"
# building the document touches neither the broker nor the database
OFFLINE_APP = {"RATELIMIT_STORAGE_URI": "memory://", "REVOCATION_FEED": False}


def load_schema():
    """The document the gateway serves at /api/v1/openapi.json, built from the same code
    (no running system is needed to collect one test per operation)."""
    app = create_app({"PWA_DIST": tempfile.gettempdir(), "JWT_SECRET_KEY": "x" * 32, **OFFLINE_APP})
    with app.app_context():
        document = build_spec(app)
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        deterministic=True,
        database="none",
    )
    return loaded.exclude(path_regex=SKIP)


@pytest.fixture(scope="session")
def fuzzer(system) -> dict:
    name, _ = system.new_user(ROLES, (NOWHERE,), password="fuzz-pass-word")
    token = system.login(name, "fuzz-pass-word")["access_token"]
    return {"Authorization": f"Bearer {token}"}


schema = load_schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_5xx(case, system, fuzzer):
    response = case.call(base_url=system.base_url, headers=fuzzer, timeout=30)
    if response.status_code == 503:
        # A service too busy to answer in time (a loaded test machine) is not the input's
        # fault; one that stays unavailable for the same request is.
        time.sleep(1)
        response = case.call(base_url=system.base_url, headers=fuzzer, timeout=30)
    assert response.status_code < 500, (
        f"{response.status_code} {response.text[:500]}\n{case.as_curl_command()}"
    )
