"""What the consumer says about itself: Prometheus counters and lag on `/metrics`, and `/health`
(connected / retrying / lagging) on one small HTTP server in a thread."""

from __future__ import annotations

import json
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

# Behind by more than this many messages in any partition: "lagging" (still healthy).
LAGGING_MESSAGES = 10_000


class ConsumerStatus:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.consumed = Counter(
            "recsys_consumer_messages_total", "Messages consumed", registry=self.registry
        )
        self.stored = Counter(
            "recsys_consumer_events_stored_total", "Events durably stored", registry=self.registry
        )
        self.rejected = Counter(
            "recsys_consumer_messages_rejected_total",
            "Messages sent to events_rejected",
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "recsys_consumer_batch_seconds",
            "From a batch's first message to its durable storage",
            registry=self.registry,
        )
        self.lag = Gauge(
            "recsys_consumer_lag_messages",
            "Messages behind the end of the partition",
            ["partition"],
            registry=self.registry,
        )
        self.up = Gauge(
            "recsys_consumer_connected", "1 when the broker answers", registry=self.registry
        )
        self.state = "starting"
        self.reason = ""
        self.lags: dict[int, int] = {}
        self.changed_at = time.time()

    def set_state(self, state: str, reason: str = "") -> None:
        if state != self.state:
            self.changed_at = time.time()
        self.state, self.reason = state, reason
        self.up.set(1 if state in ("connected", "lagging") else 0)

    def set_lags(self, lags: dict[int, int]) -> None:
        self.lags = lags
        for partition, behind in lags.items():
            self.lag.labels(str(partition)).set(behind)
        if self.state in ("connected", "lagging"):
            lagging = any(behind > LAGGING_MESSAGES for behind in lags.values())
            self.set_state("lagging" if lagging else "connected")

    def health(self) -> dict:
        return {
            "status": self.state,
            "reason": self.reason,
            "lag": {str(p): n for p, n in sorted(self.lags.items())},
            "since": self.changed_at,
        }

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """/metrics and /health on `port`, in a daemon thread."""
        metrics = make_wsgi_app(self.registry)

        def app(environ, start_response):
            if environ.get("PATH_INFO") == "/health":
                ok = self.state in ("connected", "lagging")
                start_response(
                    "200 OK" if ok else "503 Service Unavailable",
                    [("Content-Type", "application/json")],
                )
                return [json.dumps(self.health()).encode()]
            return metrics(environ, start_response)

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args) -> None:  # scrapes every few seconds: not worth a line
                pass

        server = make_server(host, port, app, handler_class=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
