"""What tracing costs a request: the API with tracing off (the default) against the same API
with it on, in one process, alternating rounds.

    python -m benchmarks.tracing_overhead                 # default synthetic dataset, embedded
    python -m benchmarks.tracing_overhead --home DIR      # reuse a home where the pipeline ran

Both apps run through their lifespan in this process (Starlette's TestClient: no network, so
the figure is the app's own time, not a socket's); "on" sends spans to an in-memory exporter
through the batch processor production uses (OTLP export itself happens off the request, on the
processor's thread). Requests: precomputed users' `GET /recommendations` and fold-in users'
(an event first, so every request scores). Off also times `tracing.span` itself: the only code
tracing adds to the hot path when it is off.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from benchmarks.freshness import publish
from recsys import tracing
from recsys.settings import Settings
from serving.app import create_app

ROUNDS = 5
REQUESTS = 400


def _round(client: TestClient, users: list[str], on: bool, provider_on) -> float:
    tracing.use(provider_on if on else None)
    started = time.perf_counter()
    for index in range(REQUESTS):
        response = client.get(f"/recommendations/{users[index % len(users)]}", params={"k": 10})
        assert response.status_code == 200
    tracing.use(None)
    return (time.perf_counter() - started) / REQUESTS * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="a home where the pipeline already ran")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="recsys-tracing-"))
    if args.home is None:
        publish(home)
    settings = Settings(home=home)
    off = TestClient(create_app(settings))
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracing.use(provider)
    on = TestClient(create_app(settings))
    tracing.use(None)
    with off, on:
        precomputed = [f"u{n}" for n in range(200)]
        fresh = [f"traced-{n}" for n in range(50)]
        some_item = off.get("/recommendations/u0", params={"k": 1}).json()["items"][0]["item_id"]
        for client in (off, on):
            for user in fresh:
                event = {"user_id": user, "item_id": some_item, "event_type": "like"}
                assert client.post("/events", json={"events": [event]}).status_code == 200
        cases = (("precomputed", precomputed), ("fold-in, cached after the first", fresh))
        for label, users in cases:
            times = {"off": [], "on": []}
            for _ in range(ROUNDS):
                times["off"].append(_round(off, users, False, provider))
                times["on"].append(_round(on, users, True, provider))
            median_off, median_on = (statistics.median(times[k]) for k in ("off", "on"))
            print(
                f"GET /recommendations, {label}: off {median_off:.3f} ms, on {median_on:.3f} ms "
                f"({median_on / median_off:.2f}x; median of {ROUNDS} rounds of {REQUESTS})"
            )
    provider.force_flush()
    print(f"spans recorded with tracing on: {len(exporter.get_finished_spans()):,}")
    started = time.perf_counter()
    for _ in range(1_000_000):
        with tracing.span("x"):
            pass
    print(f"tracing.span when off: {(time.perf_counter() - started) * 1000:.0f} ns per block")


if __name__ == "__main__":
    main()
