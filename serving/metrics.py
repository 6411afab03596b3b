"""Prometheus metrics for the API, and the ASGI middleware that records requests.

One registry per app, so several apps in one process (tests) never share counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Latency buckets from 0.5 ms: most reads answer from memory in about a millisecond.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
EVENT_ROUTES = {"/events", "/feedback"}


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recsys_http_requests_total",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "Time to answer, by route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.recommendations = Counter(
            "recsys_recommendations_served_total",
            "Recommendation lists served, by path (precomputed, fold_in, trending)",
            ["source"],
            registry=self.registry,
        )
        self.events = Counter(
            "recsys_events_total",
            "Events accepted (counted per event) and rejected (counted per request)",
            ["outcome"],
            registry=self.registry,
        )
        self.model = Gauge(
            "recsys_model_info",
            "The published model version being served (value 1)",
            ["model_version", "algorithm"],
            registry=self.registry,
        )
        self.model_age = Gauge(
            "recsys_model_age_seconds",
            "Seconds since the served version was published",
            registry=self.registry,
        )
        self.fresh_users = Gauge(
            "recsys_fresh_users",
            "Users with events newer than the served model (scored by fold-in)",
            registry=self.registry,
        )
        self._served: dict[str, Counter] = {}

    def served(self, source: str) -> None:
        child = self._served.get(source)
        if child is None:
            child = self._served[source] = self.recommendations.labels(source)
        child.inc()

    def watch(self, model: Callable[[], tuple[str, str, float] | None], fresh: Callable[[], int]):
        """Compute the model gauges at scrape time from the serving state."""

        def age() -> float:
            current = model()
            return current[2] if current else float("nan")

        self.model_age.set_function(age)
        self.fresh_users.set_function(fresh)
        self._model = model

    def exposition(self) -> bytes:
        current = self._model() if hasattr(self, "_model") else None
        self.model.clear()
        if current:
            self.model.labels(current[0], current[1]).set(1)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (not the raw path)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            if template in EVENT_ROUTES and 400 <= status < 500:
                self.metrics.events.labels("rejected").inc()


class BodyLimitMiddleware:
    """413 for request bodies over `max_bytes`, declared or streamed, before any handler runs."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        body = (
            b'{"detail":"request body larger than '
            + str(self.max_bytes).encode()
            + b' bytes (RECSYS_API_MAX_BODY_BYTES)"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
