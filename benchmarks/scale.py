"""How the whole pipeline's cost grows with the event log: 1M, 5M and 20M synthetic events.

    python -m benchmarks.scale [--events 1000000 5000000 20000000] [--items 50000]

For each size (about 10 events per user, 50k items) a fresh process runs `full_pipeline` in a
fresh RECSYS_HOME with the fixed, modest tuning budget below, and reports per stage (Dagster
step) its wall time and the peak resident memory of the process while the step ran. Peaks are
exact, not sampled: a watcher thread reads the kernel's high-water mark (VmHWM) every 0.2 s and
resets it (/proc/self/clear_refs), so every byte-peak lands in the interval it happened in.
The embedded ClickHouse runs inside the same process, so its memory is included.

After the run, the same process times the raw library calls some stages wrap, on the very data
the run produced, and prints each stage's time as a ratio to them:
  interaction_matrix    vs  clickhouse-connect reading the interactions as Arrow + scipy CSR
  candidate_model       vs  implicit's ALS (or item-kNN) fit of the same matrix and params
  user_recommendations  vs  implicit's batched top-K for every user (nothing written)
  similar_items         vs  implicit's similar_items for every item (ALS champion)
With --workers-check, the first size also times bucketed generation (compute only, nothing
written) on 2 threads against 1. With --buckets 1 2 8, each size then re-runs
user_recommendations alone as that many bucket steps, on each of --executors (in_process and
multiprocess), with each bucket step's process start and model load (benchmarks.bucket_steps).
Then growth: each stage's and the total's time ratio from one size to the next.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._util import ROOT, recsys_env
from benchmarks.bucket_steps import print_bucket_table, time_buckets

EVENTS_PER_USER = 10
# Fixed and modest: a few ALS trials and one item-kNN trial, tuned on a bounded user sample.
BUDGET = {"budget": {"als": 2, "item_knn": 1}}  # --ranker adds {"ranker": 1}


class PeakMemory:
    """Per-interval peak RSS of this process, from the kernel's resettable high-water mark."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float, int]] = []  # (start, end, peak bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        _reset_peak()
        self._started = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = self._started
        while not self._stop.wait(self.interval):
            now = time.time()
            self.samples.append((start, now, _peak_bytes()))
            _reset_peak()
            start = now
        self.samples.append((start, time.time(), _peak_bytes()))

    def peak_between(self, start: float, end: float) -> int:
        return max(
            (peak for s, e, peak in self.samples if e >= start and s <= end),
            default=0,
        )

    @property
    def peak(self) -> int:
        return max((peak for _, _, peak in self.samples), default=0)


def _peak_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def run_one(events: int, output: Path) -> None:
    """In a fresh process whose environment names the home and sizes: run, then the raw calls."""
    import dagster as dg

    from recsys.settings import get_settings
    from recsys_assets.definitions import build_definitions

    settings = get_settings()
    job = build_definitions(settings).resolve_job_def("full_pipeline")
    budget = {
        "budget": {**BUDGET["budget"], **({"ranker": 1} if os.environ.get("SCALE_RANKER") else {})}
    }
    run_config = {"ops": {"model_selection": {"config": budget}}}
    (settings.home / "dagster").mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.local_temp(str(settings.home / "dagster")) as instance:
        started = time.time()
        with PeakMemory() as memory:
            result = job.execute_in_process(run_config=run_config, instance=instance)
        wall = time.time() - started
        if not result.success:
            raise SystemExit(f"the pipeline failed at {events:,} events")
        stages = _stage_windows(instance, result.run_id)
        storage = Path(instance.storage_directory())
    report = {
        "events": events,
        "users": settings.synthetic_users,
        "items": settings.synthetic_items,
        "wall_seconds": wall,
        "peak_bytes": memory.peak,
        "stages": {
            step: {"seconds": end - start, "peak_bytes": memory.peak_between(start, end)}
            for step, (start, end) in stages.items()
        },
        "raw": raw_references(settings, storage),
    }
    if os.environ.get("SCALE_BUCKETS"):  # user_recommendations again, as bucket steps
        counts = [int(n) for n in os.environ["SCALE_BUCKETS"].split(",")]
        executors = os.environ.get("SCALE_EXECUTORS", "in_process,multiprocess").split(",")
        with dg.DagsterInstance.local_temp(str(settings.home / "dagster")) as instance:
            report["bucket_steps"] = time_buckets(instance, counts, executors)
    output.write_text(json.dumps(report))


def _stage_windows(instance, run_id: str) -> dict[str, tuple[float, float]]:
    """Each step's (start, end) wall-clock times, from the run's event log."""
    windows: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        if event.event_type_value == "STEP_START":
            windows[entry.step_key] = [entry.timestamp, entry.timestamp]
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            windows.setdefault(entry.step_key, [entry.timestamp, entry.timestamp])[1] = (
                entry.timestamp
            )
    # A graph-backed asset's steps (user_recommendations' buckets) count as the asset.
    merged: dict[str, tuple[float, float]] = {}
    for step, (start, end) in windows.items():
        name = step.split(".")[0]
        earlier = merged.get(name, (start, end))
        merged[name] = (min(start, earlier[0]), max(end, earlier[1]))
    return merged


def raw_references(settings, storage: Path) -> dict[str, float]:
    """Seconds the raw library calls take on the data this run produced."""
    import numpy as np
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    from recsys.models.als import weight_confidence
    from recsys.warehouse.connection import Warehouse

    raw: dict[str, float] = {}
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        started = time.perf_counter()
        table = client.query_arrow("SELECT user_id, item_id, confidence FROM interactions")
        users = table.column("user_id").dictionary_encode().combine_chunks()
        items = table.column("item_id").dictionary_encode().combine_chunks()
        values = table.column("confidence").to_numpy()
        sp.csr_matrix(
            (values, (users.indices.to_numpy(), items.indices.to_numpy())),
            shape=(len(users.dictionary), len(items.dictionary)),
        )
        raw["interaction_matrix"] = time.perf_counter() - started
        del table, users, items, values

    with open(storage / "candidate_model", "rb") as stored:
        trained = pickle.load(stored)
    model = trained.model
    matrix = model.train
    if model.name == "als":
        from implicit.als import AlternatingLeastSquares

        params = model.als_params
        with threadpool_limits(limits=1, user_api="blas"):
            started = time.perf_counter()
            weighted = weight_confidence(matrix, model.weighting).confidence
            als = AlternatingLeastSquares(
                factors=params.factors,
                regularization=params.regularization,
                iterations=params.iterations,
                alpha=params.alpha,
                random_state=params.random_state,
            )
            als.fit(weighted, show_progress=False)
            raw["candidate_model"] = time.perf_counter() - started
            active = np.flatnonzero(np.diff(matrix.confidence.indptr) > 0)
            started = time.perf_counter()
            als.recommend(active, matrix.seen[active], N=settings.top_k)
            raw["user_recommendations"] = time.perf_counter() - started
            # The asset asks ALS only for items enough users had; content fills the rest.
            started = time.perf_counter()
            als.similar_items(np.arange(matrix.shape[1]), N=21)
            raw["similar_items"] = time.perf_counter() - started
    elif model.name == "item_knn":
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        kind = CosineRecommender if model.similarity == "cosine" else BM25Recommender
        knn = kind(K=model.neighbours)
        started = time.perf_counter()
        knn.fit(matrix.confidence, show_progress=False)
        raw["candidate_model"] = time.perf_counter() - started
        active = np.flatnonzero(np.diff(matrix.confidence.indptr) > 0)
        started = time.perf_counter()
        knn.recommend(active, matrix.confidence[active], N=settings.top_k)
        raw["user_recommendations"] = time.perf_counter() - started
    raw["champion"] = model.name  # type: ignore[assignment]
    if os.environ.get("SCALE_WORKERS_CHECK"):
        raw.update(_workers_check(model, settings.top_k))
    return raw


def _workers_check(model, k: int) -> dict[str, float]:
    """Seconds to compute every bucket's lists on 1 thread and on 2."""
    from recsys.training import generation

    seconds = {}
    for workers in (1, 2):
        started = time.perf_counter()
        for _ in generation.generate(model, k, buckets=16, workers=workers):
            pass
        seconds[f"generation_workers_{workers}"] = time.perf_counter() - started
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 5_000_000, 20_000_000])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument(
        "--workers-check", action="store_true", help="time 2 generation workers vs 1 (first size)"
    )
    parser.add_argument(
        "--ranker", action="store_true", help="add the two-stage ranker (one trial) to the budget"
    )
    parser.add_argument(
        "--buckets",
        type=int,
        nargs="+",
        help="then re-run user_recommendations alone with these bucket counts (e.g. 1 2 8)",
    )
    parser.add_argument(
        "--executors", nargs="+", default=["in_process", "multiprocess"], help="for --buckets"
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child mode: report here
    args = parser.parse_args()
    if args.one:
        run_one(args.events[0], args.one)
        return
    reports = []
    for events in args.events:
        with tempfile.TemporaryDirectory(prefix="recsys-scale-") as home:
            env = recsys_env(
                home,
                synthetic_events=events,
                synthetic_users=max(1, events // EVENTS_PER_USER),
                synthetic_items=args.items,
                automation_on="false",
            )
            env["OPENBLAS_NUM_THREADS"] = "1"
            if args.ranker:
                env["SCALE_RANKER"] = "1"
            if args.buckets:
                env["SCALE_BUCKETS"] = ",".join(map(str, args.buckets))
                env["SCALE_EXECUTORS"] = ",".join(args.executors)
            if args.workers_check and events == args.events[0]:
                env["SCALE_WORKERS_CHECK"] = "1"
            output = Path(home) / "report.json"
            print(f"--- {events:,} events ...", flush=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.scale",
                    "--events",
                    str(events),
                    "--one",
                    str(output),
                ],
                env=env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            report = json.loads(output.read_text())
        reports.append(report)
        print_report(report)
    print_growth(reports)


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f}"


def print_report(report: dict) -> None:
    raw = report["raw"]
    print(
        f"\n{report['events']:,} events, {report['users']:,} users, {report['items']:,} items: "
        f"{report['wall_seconds']:.0f} s total, peak {_gb(report['peak_bytes'])} GB "
        f"(champion {raw.get('champion')})"
    )
    print("| stage | seconds | peak GB | raw library s | stage / raw |")
    print("|---|---:|---:|---:|---:|")
    for step, stage in sorted(report["stages"].items(), key=lambda kv: -kv[1]["seconds"]):
        reference = raw.get(step)
        ratio = f"{stage['seconds'] / reference:.2f}x" if isinstance(reference, float) else ""
        ref = f"{reference:.1f}" if isinstance(reference, float) else ""
        print(f"| {step} | {stage['seconds']:.1f} | {_gb(stage['peak_bytes'])} | {ref} | {ratio} |")
    if report.get("bucket_steps"):
        single = report["stages"].get("user_recommendations", {}).get("seconds")
        print_bucket_table(report["events"], report["bucket_steps"], single)
    if "generation_workers_2" in raw:
        one, two = raw["generation_workers_1"], raw["generation_workers_2"]
        print(
            f"bucketed generation, compute only: 1 thread {one:.1f} s, 2 threads "
            f"{two:.1f} s ({one / two:.2f}x)"
        )
    sys.stdout.flush()


def print_growth(reports: list[dict]) -> None:
    for smaller, larger in zip(reports, reports[1:], strict=False):
        factor = larger["events"] / smaller["events"]
        ratio = larger["wall_seconds"] / smaller["wall_seconds"]
        print(
            f"\n{smaller['events']:,} -> {larger['events']:,} events ({factor:.0f}x data): "
            f"total time {ratio:.2f}x"
        )
        for step, stage in larger["stages"].items():
            before = smaller["stages"].get(step)
            if before and before["seconds"] > 0.5:
                print(f"  {step}: {stage['seconds'] / before['seconds']:.2f}x")


if __name__ == "__main__":
    main()
