"""Event-write throughput into the embedded warehouse, and what the API adds on top.

    python -m benchmarks.event_writes [--batches 30]

Prints, measured in the same run:
- baseline: one long-lived chDB client inserting 1,000-event batches (no lock, no reopen);
- warehouse sessions: the same batches, each in its own `Warehouse.session()` (the inter-process
  lock, with the engine kept open between sessions while no other process waits);
- contended: two processes writing such batches at the same time (the engine changes hands);
- API: POST /events with 1,000-event batches, and single-event posts with p50/p99 latency.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import clickhouse_connect
import httpx
import pandas as pd
from tqdm import tqdm

from benchmarks._util import free_port, percentiles, start_api
from recsys.warehouse import source_tables
from recsys.warehouse.connection import DATABASE, Warehouse
from recsys.warehouse.migrations import apply_migrations

BATCH = 1_000


def batch_frame(tag: str) -> pd.DataFrame:
    now = datetime.now(UTC)
    return pd.DataFrame(
        {
            "event_id": [f"{tag}-{uuid.uuid4().hex}" for _ in range(BATCH)],
            "user_id": [f"u{n % 500}" for n in range(BATCH)],
            "item_id": [f"i{n % 300}" for n in range(BATCH)],
            "event_type": "view_start",
            "value": None,
            "timestamp": now,
            "source": "benchmark",
        }
    )


def write_batches(url: str, batches: int, tag: str) -> None:
    warehouse = Warehouse.from_url(url)
    for n in range(batches):
        with warehouse.session() as client:
            source_tables.insert_events(client, batch_frame(f"{tag}{n}"))
    warehouse.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--singles", type=int, default=300)
    args = parser.parse_args()
    frames = [batch_frame(f"b{n}") for n in range(args.batches)]
    total = args.batches * BATCH

    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        warehouse = Warehouse.from_url(f"chdb://{home / 'warehouse'}")
        with warehouse.session() as client:
            apply_migrations(client)

        # Baseline: one client held open for all batches.
        client = clickhouse_connect.get_client(dsn=f"chdb://{home / 'warehouse'}")
        client.database = DATABASE
        started = time.perf_counter()
        for frame in tqdm(frames, desc="baseline (one open client)"):
            source_tables.insert_events(client, frame.assign(event_id=frame["event_id"] + "-raw"))
        baseline = total / (time.perf_counter() - started)
        client.close()

        started = time.perf_counter()
        for frame in tqdm(frames, desc="warehouse sessions"):
            with warehouse.session() as session:
                source_tables.insert_events(session, frame)
        sessions = total / (time.perf_counter() - started)
        warehouse.close()

        context = multiprocessing.get_context("spawn")
        url = f"chdb://{home / 'warehouse'}"
        writers = [
            context.Process(target=write_batches, args=(url, args.batches, f"c{w}-"))
            for w in range(2)
        ]
        started = time.perf_counter()
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        contended = 2 * total / (time.perf_counter() - started)

        port = free_port()
        api = start_api(home, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                payloads = [
                    {
                        "events": [
                            {
                                "user_id": u,
                                "item_id": i,
                                "event_type": "view_start",
                                "event_id": f"api-{e}",
                            }
                            for e, u, i in zip(
                                f["event_id"], f["user_id"], f["item_id"], strict=True
                            )
                        ]
                    }
                    for f in frames
                ]
                started = time.perf_counter()
                for payload in tqdm(payloads, desc="API batches of 1,000"):
                    assert http.post("/events", json=payload).status_code == 200
                api_batches = total / (time.perf_counter() - started)
                single_ms = []
                for n in tqdm(range(args.singles), desc="API single events"):
                    t0 = time.perf_counter()
                    response = http.post(
                        "/events",
                        json={"user_id": "solo", "item_id": f"i{n}", "event_type": "like"},
                    )
                    single_ms.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200
        finally:
            api.terminate()
            api.wait()

    print(f"\nEvent writes into the embedded warehouse ({args.batches} batches of {BATCH:,}):")
    print(f"  baseline, one open chDB client     {baseline:>10,.0f} events/s")
    print(
        f"  Warehouse.session() per batch      {sessions:>10,.0f} events/s"
        f"  ({sessions / baseline:.2f}x baseline)"
    )
    print(
        f"  two processes contending, in all   {contended:>10,.0f} events/s"
        f"  ({contended / baseline:.2f}x baseline; includes process start-up)"
    )
    print(
        f"  POST /events, batches of 1,000     {api_batches:>10,.0f} events/s"
        f"  ({api_batches / baseline:.2f}x baseline)"
    )
    print(
        f"  POST /events, single events        {1000 / (sum(single_ms) / len(single_ms)):>10,.0f} "
        f"events/s  ({percentiles(single_ms)})"
    )


if __name__ == "__main__":
    main()
