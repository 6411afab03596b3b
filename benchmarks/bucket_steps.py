"""User buckets as Dagster steps, timed: `user_recommendations` alone, re-run on a home where
`full_pipeline` just ran, with 1, 2 and 8 buckets on the in-process and the multiprocess
executor (`benchmarks.scale --buckets`).

Per run: the graph's wall time (from its first step asking for a process, or starting, to its
last step's end) and, per bucket step, the overhead before its own work, from the event log:
  process start  STEP_WORKER_STARTING -> STEP_START   (multiprocess only: spawn and imports)
  model load     STEP_START -> its last LOADED_INPUT  (unpickling the trained model and task)
"""

from __future__ import annotations

import os
import statistics

import dagster as dg

GRAPH = "user_recommendations"


def bucket_job() -> dg.JobDefinition:
    """full_pipeline on the executor RECSYS_PIPELINE_EXECUTOR names (each step's process
    rebuilds it from here)."""
    from recsys.settings import Settings
    from recsys_assets.definitions import build_definitions

    return build_definitions(Settings()).resolve_job_def("full_pipeline")


def time_buckets(instance: dg.DagsterInstance, counts: list[int], executors: list[str]) -> list:
    """One run of user_recommendations per (executor, buckets); a row of figures each."""
    rows = []
    for executor in executors:
        os.environ["RECSYS_PIPELINE_EXECUTOR"] = executor  # read by bucket_job, here and in steps
        for buckets in counts:
            result = dg.execute_job(
                dg.reconstructable(bucket_job),
                instance,
                run_config={"ops": {GRAPH: {"config": {"buckets": buckets}}}},
                asset_selection=[dg.AssetKey(GRAPH)],
            )
            if not result.success:
                raise SystemExit(f"{GRAPH} failed with {buckets} buckets on {executor}")
            rows.append({"executor": executor, "buckets": buckets, **_figures(instance, result)})
    return rows


def _figures(instance: dg.DagsterInstance, result) -> dict:
    first: dict[str, float] = {}
    events: dict[str, dict[str, float]] = {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key or not entry.step_key.startswith(GRAPH + "."):
            continue
        kind = event.event_type_value
        step = events.setdefault(entry.step_key, {})
        if kind == "LOADED_INPUT":
            step["loaded"] = entry.timestamp
        elif kind not in step:  # the first of each kind (a retry would add later ones)
            step[kind] = entry.timestamp
        first.setdefault("at", entry.timestamp)
        first["end"] = entry.timestamp
    buckets = [s for key, s in events.items() if ".recommend_bucket[" in key]
    spawned = [s for s in buckets if "STEP_WORKER_STARTING" in s]
    starts = [s["STEP_START"] - s["STEP_WORKER_STARTING"] for s in spawned]
    loads = [s["loaded"] - s["STEP_START"] for s in buckets if "loaded" in s]
    work = [s["STEP_SUCCESS"] - s.get("loaded", s["STEP_START"]) for s in buckets]
    return {
        "seconds": first["end"] - first["at"],
        "process_start": statistics.median(starts) if starts else 0.0,
        "model_load": statistics.median(loads) if loads else 0.0,
        "bucket_work": statistics.median(work),
    }


def print_bucket_table(events: int, rows: list[dict], single_step: float | None) -> None:
    print(f"\n{events:,} events: user_recommendations as bucket steps")
    if single_step is not None:
        print(f"(in the full_pipeline run before them, default settings: {single_step:.1f} s)")
    print("| executor | buckets | seconds | per bucket: process start | model load | work |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['executor']} | {row['buckets']} | {row['seconds']:.1f} | "
            f"{row['process_start']:.2f} | {row['model_load']:.2f} | {row['bucket_work']:.1f} |"
        )
