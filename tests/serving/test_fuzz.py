"""Property-based fuzz of every operation in the OpenAPI schema: no input may cause a 500,
and every documented response matches its schema.

Bounded: a fixed number of generated cases per operation, derandomised, so the suite stays
fast and repeatable. Runs against the app (lifespan started) with a published model.
"""

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from serving.app import create_app

CASES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def app(published):
    app = create_app(published.model_copy(update={"admin_token": "fuzz-token"}))
    with TestClient(app):  # runs the lifespan: the published snapshot is loaded
        yield app


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_causes_a_server_error(case):
    response = case.call()
    # Schema conformance too: the hottest endpoint writes its JSON by hand.
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
