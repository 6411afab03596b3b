"""user_recommendations as Dagster steps, one per user bucket, so the job's executor spreads them.

    candidate_model -> user_buckets                 which items to leave out, how long a list;
                       |                            clears what an earlier run left for the version
                       +-> recommend_bucket[bucket_0] ... recommend_bucket[bucket_N-1]
                       |     each computes its users' lists (training.generation), writes them;
                       |     a retry replaces that bucket's rows only
                       +-> recommendations_written  the asset's materialisation: rows, users, steps

A graph-backed asset with dynamic mapping, not partitions: every bucket runs inside the one run,
so the recommendations check and `published_model` after it see all of them or none (a run
whose bucket failed for good publishes nothing). The executor is the job's (RECSYS_PIPELINE_
EXECUTOR): in the run's process, a process per step, or a Kubernetes pod per step.
"""

import os
import time
from dataclasses import dataclass

import dagster as dg
import numpy as np

from recsys.training import generation
from recsys.warehouse import exports
from recsys.warehouse.connection import Warehouse
from recsys_assets.assets.models import TrainedModel
from recsys_assets.progress import Progress
from recsys_assets.resources import WarehouseResource
from recsys_assets.retries import retry_when_unavailable
from recsys_assets.run_config import RecommendationsConfig, RunDefaults

GROUP = "exports"

# Any failure of a bucket (a lost pod or process, an out-of-memory kill, a server hiccup) is
# worth another try: the retry rewrites only that bucket's rows. Warehouse outages also retry
# with their own longer backoff (`retry_when_unavailable`).
BUCKET_RETRY = dg.RetryPolicy(max_retries=2, delay=2.0, backoff=dg.Backoff.EXPONENTIAL)


@dataclass(frozen=True)
class BucketTask:
    """What one bucket step needs besides the model: which bucket, and the run's list rules."""

    bucket: int
    buckets: int
    top_k: int
    k: int  # lists asked of the model: top_k plus room for the items left out
    workers: int  # threads inside the step
    withheld: np.ndarray  # per item column: deleted, hidden or out of its window


@dataclass(frozen=True)
class BucketWritten:
    """One bucket step's outcome, for the asset's metadata."""

    model_version: str
    bucket: int
    buckets: int
    top_k: int
    workers: int
    users: int
    rows: int
    seconds: float
    pid: int
    attempt: int


@dg.op(out=dg.DynamicOut(BucketTask))
@retry_when_unavailable
def user_buckets(
    context: dg.OpExecutionContext,
    config: RecommendationsConfig,
    candidate_model: TrainedModel,
    warehouse: WarehouseResource,
    defaults: RunDefaults,
):
    """One task per bucket of users, with the rules every bucket applies alike."""
    config = config.resolved(defaults)
    model = candidate_model.model
    store = warehouse.get()
    withheld = withheld_items(store, model.train.item_ids, context)
    with store.session() as client:  # rows of an earlier run of this version, if any
        exports.clear_version(client, "user_recommendations", candidate_model.version.model_version)
    workers = (config.workers or model.preferred_workers) if model.parallel_safe else 1
    k = config.top_k + min(int(withheld.sum()), config.top_k)
    context.log.info(f"{config.buckets} buckets of users, {workers} threads in each step")
    for bucket in range(config.buckets):
        task = BucketTask(bucket, config.buckets, config.top_k, k, workers, withheld)
        yield dg.DynamicOutput(task, mapping_key=f"bucket_{bucket}")


@dg.op(retry_policy=BUCKET_RETRY)
@retry_when_unavailable
def recommend_bucket(
    context: dg.OpExecutionContext,
    candidate_model: TrainedModel,
    task: BucketTask,
    warehouse: WarehouseResource,
) -> BucketWritten:
    """Top-K lists of one bucket's users, already-seen and disliked items removed, written
    (after whatever an earlier attempt at this bucket left is removed)."""
    started = time.perf_counter()
    version = candidate_model.version.model_version
    model = candidate_model.model
    store = warehouse.get()
    model.reattach(store)  # one reading the warehouse reads this run's (handles do not travel)
    matrix = model.train
    item_ids = exports.id_array(matrix.item_ids)
    rows = generation.rows_of_bucket(model, task.bucket, task.buckets)
    name = f"bucket {task.bucket + 1}/{task.buckets}"
    progress = Progress(context.log.info, name, total=len(rows), unit="users")
    done = 0

    def tables():
        nonlocal done
        for lists in generation.generate_bucket(model, rows, task.k, task.workers):
            yield exports.topk_table(
                lists.rows,
                lists.columns,
                lists.scores,
                matrix.user_ids,
                item_ids,
                ("user_id", "item_id"),
                version,
                model.name,
                task.withheld,
                task.top_k,
                lists.lifted_by,
                bucket=task.bucket,
            )
            done += lists.users  # counted once the slice is written
            progress(done)

    written = exports.write_user_bucket(store, version, task.bucket, tables())
    return BucketWritten(
        version,
        task.bucket,
        task.buckets,
        task.top_k,
        task.workers,
        users=len(rows),
        rows=written,
        seconds=time.perf_counter() - started,
        pid=os.getpid(),
        attempt=context.retry_number + 1,
    )


@dg.op
def recommendations_written(
    context: dg.OpExecutionContext, written: list[BucketWritten]
) -> dg.Output:
    """Every bucket written: the asset's materialisation, with each step's figures."""
    written = sorted(written, key=lambda w: w.bucket)
    version = written[0].model_version
    rows, users = sum(w.rows for w in written), sum(w.users for w in written)
    context.log.info(f"{rows:,} recommendations for {users:,} users ({version})")
    slowest = max(w.seconds for w in written)
    steps = "\n".join(
        f"| {w.bucket} | {w.users:,} | {w.rows:,} | {w.seconds:.1f} | {w.pid} | {w.attempt} |"
        for w in written
    )
    return dg.Output(
        None,
        metadata={
            "model_version": version,
            "rows": rows,
            "users": users,
            "top_k": written[0].top_k,
            "buckets": written[0].buckets,
            "workers": written[0].workers,
            "processes": len({w.pid for w in written}),
            "retried_buckets": sum(w.attempt > 1 for w in written),
            "slowest_bucket_seconds": round(slowest, 2),
            "bucket_steps": dg.MetadataValue.md(
                "| bucket | users | rows | seconds | process | attempt |\n"
                "|---|---|---|---|---|---|\n" + steps
            ),
        },
    )


@dg.config_mapping
def _recommendations_config(config: RecommendationsConfig) -> dict:
    # The asset keeps one config block (`ops: {user_recommendations: {config: ...}}`), as when
    # it was one step; the planning step reads it.
    fields = {name: value for name, value in config.model_dump().items() if value is not None}
    return {"user_buckets": {"config": fields}}


@dg.graph_asset(group_name=GROUP, kinds={"clickhouse"}, config=_recommendations_config)
def user_recommendations(candidate_model: TrainedModel):
    """Top-K items per user, already-seen and disliked items removed, tagged with the version:
    one step per bucket of users."""
    tasks = user_buckets(candidate_model)
    written = tasks.map(lambda task: recommend_bucket(candidate_model, task))
    return recommendations_written(written.collect())


def withheld_items(store: Warehouse, item_ids: np.ndarray, context) -> np.ndarray:
    """The items an export leaves out: deleted, hidden or outside their window right now."""
    with store.session() as client:
        withheld = exports.withheld_columns(client, item_ids)
    if withheld.any():
        context.log.info(f"{int(withheld.sum()):,} items withheld (deleted, hidden or expired)")
    return withheld
