"""Retrain latency: from the event that crosses RECSYS_RETRAIN_THRESHOLD to the new model serving.

    python -m benchmarks.retrain_latency                      # ml-latest-small from ../shared
    python -m benchmarks.retrain_latency --dataset movielens:/path/to/ml-latest-small

Runs the README's run command (`python -m recsys up`: Dagster UI + daemon, API) in a temporary
home with the default search budget and the default sensor interval, waits for the first model,
posts exactly the threshold's worth of events to the API, and polls `GET /model` until another
version serves. The Dagster instance's run records split the time into: sensor tick to run
created, queued to started, the run itself, and publication to the API serving it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks._util import ROOT, free_port, recsys_env

DEFAULT_DATASET = ROOT.parent / "shared" / "datasets" / "ml-latest-small"


def wait_for(predicate, timeout: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"recsys up exited while waiting for {what}")
        try:
            value = predicate()
            if value:
                return value
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def retrain_run(dagster_home: Path):
    """The sensor-triggered run's record (created, started, ended) from the instance."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(
            filters=dg.RunsFilter(tags={"recsys/trigger": "new_events"}), limit=1
        )
        return records[0] if records else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=f"movielens:{DEFAULT_DATASET}")
    parser.add_argument("--threshold", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        api_port, ui_port = free_port(), free_port()
        env = recsys_env(
            home,
            dataset=args.dataset,
            api_port=api_port,
            dagster_port=ui_port,
            retrain_threshold=args.threshold,
        )
        log = (home / "recsys-up.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys", "up"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30)
        try:
            started = time.perf_counter()
            first = wait_for(
                lambda: api.get("/model").json().get("model_version"),
                1800,
                "the first model",
                process,
            )
            print(f"first model {first} serving after {time.perf_counter() - started:.0f} s")
            items = [i["item_id"] for i in api.get("/trending", params={"k": 100}).json()["items"]]
            events = [
                {
                    "user_id": f"retrain-bench-{n % 10}",
                    "item_id": items[n % len(items)],
                    "event_type": "like",
                }
                for n in range(args.threshold)
            ]
            api.post("/events", json={"events": events[:-1]}).raise_for_status()
            api.post("/events", json=events[-1]).raise_for_status()
            crossed = time.time()
            second = wait_for(
                lambda: (v := api.get("/model").json()["model_version"]) != first and v,
                1800,
                "the retrained model",
                process,
            )
            serving = time.time()
            record = retrain_run(home / "dagster")
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=120)
            log.close()
    total = serving - crossed
    print(f"\nthreshold {args.threshold} events, dataset {args.dataset}")
    print(f"retrain latency: threshold crossed -> {second} serving: {total:.1f} s")
    if record is not None:
        created = record.create_timestamp.timestamp()
        run_started = record.start_time or created
        run_ended = record.end_time or serving
        print(f"  sensor tick -> run created      {created - crossed:6.1f} s")
        print(f"  queued -> run started           {run_started - created:6.1f} s")
        print(f"  run (train, check, export)      {run_ended - run_started:6.1f} s")
        print(f"  run ended -> API serving        {serving - run_ended:6.1f} s")


if __name__ == "__main__":
    main()
