"""Traces (OpenTelemetry; on only when an OTLP endpoint is configured): an API request's span is
the ancestor of its fold-in and its warehouse sessions, a pipeline step's span of the sessions
it opens; off, nothing is traced and spans cost a no-op."""

import contextlib

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recsys import tracing
from recsys_assets.retries import retry_when_unavailable
from serving.app import create_app


@pytest.fixture
def spans():
    """Tracing on for this test, into memory (the SDK's own exporter)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)


def _ancestors(span, finished) -> list:
    by_id = {s.context.span_id: s for s in finished}
    chain, parent = [], span.parent
    while parent is not None and parent.span_id in by_id:
        chain.append(by_id[parent.span_id])
        parent = chain[-1].parent
    return chain


def test_a_request_is_the_ancestor_of_its_fold_in_and_warehouse_sessions(
    api_settings, facts, spans
):
    like = {"user_id": "traced-user", "item_id": facts["top"][0], "event_type": "like"}
    with TestClient(create_app(api_settings)) as api:
        spans.clear()
        assert api.post("/events", json={"events": [like]}).status_code == 200
        assert api.get("/recommendations/traced-user", params={"k": 5}).status_code == 200
    finished = spans.get_finished_spans()
    requests = {s.name: s for s in finished if s.parent is None}
    post = next(s for name, s in requests.items() if name.startswith("POST /events"))
    get = next(s for name, s in requests.items() if name.startswith("GET /recommendations"))
    sessions = [s for s in finished if s.name == "warehouse session"]
    # The events are stored in a warehouse session opened on a worker thread of that request.
    assert any(post in _ancestors(s, finished) for s in sessions), [s.name for s in finished]
    [fold_in] = [s for s in finished if s.name == "fold-in"]
    assert get in _ancestors(fold_in, finished)
    assert fold_in.context.trace_id == get.context.trace_id != post.context.trace_id
    assert fold_in.attributes["recsys.history"] == 1


def test_a_pipeline_step_is_the_parent_of_its_warehouse_sessions(warehouse, spans):
    class Run:
        run_id = "run-1"

    class Context:  # what the wrapper reads from Dagster's context
        run = Run()
        retry_number = 0

    @retry_when_unavailable
    def scored(context):
        with warehouse.session() as client:
            return client.query("SELECT 1").result_rows[0][0]

    assert scored(Context()) == 1
    finished = spans.get_finished_spans()
    [step] = [s for s in finished if s.name == "step scored"]
    [session] = [s for s in finished if s.name == "warehouse session"]
    assert session.parent.span_id == step.context.span_id
    assert step.attributes["dagster.run_id"] == "run-1"


def test_off_without_an_endpoint_and_on_with_one():
    assert tracing.provider() is None  # the test environment names no OTLP endpoint
    assert isinstance(tracing.span("anything"), contextlib.nullcontext)
    assert tracing.configure("recsys-test", environ={}) is False
    try:
        endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
        assert tracing.configure("recsys-test", environ=endpoint) is True
        assert tracing.provider().resource.attributes["service.name"] == "recsys-test"
    finally:
        tracing.provider().shutdown()
        tracing.use(None)
