"""Property-based fuzz of every operation in the OpenAPI schema: no input may cause a 500,
and every response matches its documented schema, errors included (every 4xx and 503 is
documented: FastAPI's validation format for 422, `{"detail": "..."}` for the rest).

Bounded: a fixed number of generated cases per operation, derandomised, so the suite stays
fast and repeatable. Runs against the app (lifespan started) with a published model. Uses
schemathesis' strategies with plain hypothesis (its pytest plugin lags behind pytest releases).
"""

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from serving.app import create_app

CASES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def app(writable_home):
    app = create_app(writable_home.model_copy(update={"admin_token": "fuzz-token"}))
    with TestClient(app):  # runs the lifespan: the published snapshot is loaded
        yield app


def test_no_input_causes_a_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13  # every endpoint is in the schema, so every one is fuzzed
    for operation in operations:
        # With the token, so admin routes answer their own errors too (erasures are slow and
        # tested on their own: those go without, and are refused).
        erasing = operation.method.upper() == "DELETE" and operation.path.startswith("/users")
        headers = {} if erasing else {"Authorization": "Bearer fuzz-token"}

        fuzz = _fuzzer(operation, headers)
        try:
            fuzz()
        except Exception as error:
            raise AssertionError(f"{operation.label}: {error}") from error


def _fuzzer(operation, headers: dict[str, str]):
    """The bounded property test of one operation, its requests sent with `headers`."""

    @settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case):
        response = case.call(headers=headers)
        # Schema conformance too: the hottest endpoint writes its JSON by hand.
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    return fuzz
