"""Prometheus metrics for the API, and the ASGI middleware that records requests.

One registry per app, so several apps in one process (tests) never share counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
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
        self._model: Callable[[], tuple[str, str, float] | None] = lambda: None
        self._per_route: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one request (children cached: `labels()` takes a lock each call)."""
        key = (method, route, status)
        children = self._per_route.get(key)
        if children is None:
            children = self._per_route[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

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

    def watch_online(self, impressions, results: Callable[[], list[dict]]) -> None:
        """Impressions written, dropped and queued (read from the log at scrape time), and the
        running experiments' latest CTR by variant and model version (for Grafana)."""
        self.registry.register(_OnlineCollector(impressions, results))

    def exposition(self) -> bytes:
        current = self._model()
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
            self.metrics.request(scope["method"], template, status, time.perf_counter() - started)
            if template in EVENT_ROUTES and 400 <= status < 500:
                self.metrics.events.labels("rejected").inc()


class _OnlineCollector(Collector):
    def __init__(self, impressions, results: Callable[[], list[dict]]) -> None:
        self.impressions = impressions
        self.results = results

    def collect(self):
        log = self.impressions
        yield CounterMetricFamily(
            "recsys_impressions_written", "Lists recorded as shown", value=log.written
        )
        yield CounterMetricFamily(
            "recsys_impressions_dropped",
            "Lists not recorded: the queue was full or the write failed",
            value=log.dropped,
        )
        yield GaugeMetricFamily("recsys_impressions_queued", "Lists waiting", value=log.queued)
        ctr = GaugeMetricFamily(
            "recsys_experiment_ctr",
            "Click-through rate by experiment, variant and model version (latest results)",
            labels=["experiment", "variant", "model_version"],
        )
        users = GaugeMetricFamily(
            "recsys_experiment_users",
            "Users exposed by experiment, variant and model version (latest results)",
            labels=["experiment", "variant", "model_version"],
        )
        for row in self.results():
            labels = [row["experiment"], row["variant"], row["model_version"] or "all"]
            ctr.add_metric(labels, row["ctr"])
            users.add_metric(labels, row["users"])
        yield ctr
        yield users
