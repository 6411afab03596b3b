"""OpenTelemetry traces: off unless an OTLP endpoint is configured.

    OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set
        -> one tracer provider per process, spans batched to that endpoint over OTLP/HTTP,
           `service.name` from OTEL_SERVICE_NAME or the process's own (api, consumer, pipeline)
    unset -> no provider: `span()` is a no-op context manager and the API is built with
             FastAPI's native telemetry off, so the hot path does exactly what it did before

What is traced: every API request (FastAPI's native OpenTelemetry: the request, its
dependencies, endpoint and serialisation), each warehouse session in any process, request-time
fold-in, the consumer's batches and every pipeline step (an asset or check body). Spans opened
on a worker thread of the API keep their request as parent: Starlette runs sync work in a copy
of the request's context.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any

from opentelemetry.trace import Tracer, TracerProvider

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_provider: TracerProvider | None = None
_tracer: Tracer | None = None
_configured = False
_guard = threading.Lock()


def configure(service_name: str, environ: dict[str, str] | None = None) -> bool:
    """Turn tracing on for this process if the environment names an OTLP endpoint; True if
    it is on. Called once by each entry point (API, consumer, pipeline code location)."""
    global _configured
    environ = os.environ if environ is None else environ
    with _guard:
        if _configured or not any(environ.get(name) for name in ENDPOINT_VARIABLES):
            return _tracer is not None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        name = environ.get("OTEL_SERVICE_NAME") or service_name
        provider = SdkProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _use(provider)
        _configured = True
    return True


def use(provider: TracerProvider | None) -> None:
    """Trace to `provider` from now on (None: off). For tests: an in-memory exporter."""
    with _guard:
        _use(provider)


def _use(provider: TracerProvider | None) -> None:
    global _provider, _tracer
    _provider = provider
    _tracer = provider.get_tracer("recsys") if provider is not None else None


def provider() -> TracerProvider | None:
    """The tracer provider spans go to, or None when tracing is off."""
    return _provider


def span(name: str, **attributes: Any) -> contextlib.AbstractContextManager:
    """A span named `name` around a block, child of the current one; nothing when off."""
    tracer = _tracer
    if tracer is None:
        return contextlib.nullcontext()
    return tracer.start_as_current_span(name, attributes=attributes or None)
