"""Many OS processes share one embedded warehouse while a pipeline run materialises.

Writers insert events directly and read tables; a real uvicorn API process takes events over
HTTP and serves reads; the test process runs the full pipeline. Nothing may fail with a lock
error, and every acknowledged event must be stored exactly once.
"""

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import httpx
import pandas as pd

from recsys.warehouse import source_tables
from recsys.warehouse.connection import Warehouse
from tests.conftest import free_port, run_full_pipeline, small_settings

WRITERS = 3
BATCH = 20


def _writer(url: str, writer: int, stop, acked_path: str, errors_path: str) -> None:
    """Insert batches and read tables until told to stop; log acknowledged ids to a file."""
    warehouse = Warehouse.from_url(url, lock_timeout=60)
    batch_number = 0
    with open(acked_path, "w") as acked, open(errors_path, "w") as errors:
        while not stop.is_set() or batch_number < 10:
            ids = [f"w{writer}-{batch_number}-{n}" for n in range(BATCH)]
            frame = pd.DataFrame(
                {
                    "event_id": ids,
                    "user_id": [f"writer-{writer}"] * BATCH,
                    "item_id": [f"i{n}" for n in range(BATCH)],
                    "event_type": "view_start",
                    "value": None,
                    "timestamp": datetime.now(UTC),
                    "source": "concurrency-test",
                }
            )
            try:
                with warehouse.session() as client:
                    source_tables.insert_events(client, frame)
                acked.write("\n".join(ids) + "\n")
                acked.flush()
                with warehouse.session() as client:
                    for table in ("user_recommendations", "events"):
                        assert client.query(f"SELECT count() FROM {table}").result_rows[0][0] >= 0
            except Exception as error:  # recorded for the test to report, not swallowed
                errors.write(f"{type(error).__name__}: {error}\n")
                errors.flush()
            batch_number += 1


def _http_client_loop(base: str, stop: threading.Event, acked: list[str], failures: list[str]):
    with httpx.Client(base_url=base, timeout=90) as client:
        n = 0
        while not stop.is_set() or n < 10:
            event_id = f"http-{n}"
            response = client.post(
                "/events",
                json={
                    "user_id": "http-user",
                    "item_id": f"i{n % 50}",
                    "event_type": "like",
                    "event_id": event_id,
                },
            )
            if response.status_code == 200:
                acked.append(event_id)
            else:
                failures.append(f"POST {response.status_code} {response.text}")
            reads = client.get("/recommendations/u1")
            if reads.status_code not in (200, 503) or (
                reads.status_code == 503 and "no model" not in reads.text
            ):
                failures.append(f"GET {reads.status_code} {reads.text}")
            n += 1


def test_processes_write_and_read_while_the_pipeline_runs(tmp_path: Path):
    settings = small_settings(tmp_path, synthetic_events=20_000)
    with Warehouse.from_url(settings.warehouse_url).session():
        pass  # create the folder so every process opens the same path

    port = free_port()
    env = {**os.environ, "RECSYS_HOME": str(settings.home), "RECSYS_API_RELOAD_SECONDS": "0.5"}
    api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    writers = [
        context.Process(
            target=_writer,
            args=(
                settings.warehouse_url,
                w,
                stop,
                str(tmp_path / f"acked-{w}"),
                str(tmp_path / f"errors-{w}"),
            ),
        )
        for w in range(WRITERS)
    ]
    http_stop = threading.Event()
    http_acked: list[str] = []
    http_failures: list[str] = []
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health/live").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "API did not start"
                time.sleep(0.2)
        for process in writers:
            process.start()
        http_thread = threading.Thread(
            target=_http_client_loop, args=(base, http_stop, http_acked, http_failures)
        )
        http_thread.start()

        with dg.instance_for_test() as instance:
            result = run_full_pipeline(settings, instance)

        stop.set()
        http_stop.set()
        for process in writers:
            process.join(timeout=120)
        http_thread.join(timeout=120)
    finally:
        stop.set()
        http_stop.set()
        api.terminate()
        api.wait(timeout=30)

    assert result.success
    assert all(process.exitcode == 0 for process in writers)
    errors = "".join((tmp_path / f"errors-{w}").read_text() for w in range(WRITERS))
    assert errors == "" and http_failures == []

    acked = set(http_acked)
    for w in range(WRITERS):
        acked |= set((tmp_path / f"acked-{w}").read_text().split())
    assert len(acked) >= WRITERS * 10 * BATCH + 10
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        stored = client.query(
            """
            SELECT event_id, count() FROM events
            WHERE source IN ('concurrency-test', 'api') GROUP BY event_id
            """
        ).result_rows
    counts = dict(stored)
    assert set(counts) == acked  # nothing acknowledged was lost, nothing unacknowledged appeared
    assert set(counts.values()) == {1}  # and each was written exactly once
