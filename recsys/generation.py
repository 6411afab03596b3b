"""Recommendation generation in user buckets, so it can be spread over threads or workers.

    user -> bucket = stable hash(user id) % buckets          (the same in every process and run)
    bucket -> its active users -> model.recommend in blocks -> (rows, columns, scores)

Each bucket is independent: here `generate(..., workers=N)` computes buckets on N threads of
this process while the caller writes finished ones (the embedded warehouse takes one writer at
a time); in production each bucket can be a task on its own worker. Threads, not processes:
scoring spends its time in numpy, LightGBM and implicit, which release the GIL, and a thread
needs no copy of the model (spawned processes paid seconds of imports and unpickling each).
Memory stays bounded by a block of users per thread, never users x items.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from recsys.lifts import Lifts
from recsys.models.base import Recommender


@dataclass(frozen=True)
class BucketLists:
    """One bucket's top-K lists: matrix rows, item columns per row (-1: empty), scores."""

    bucket: int
    rows: np.ndarray
    columns: np.ndarray
    scores: np.ndarray
    # Per slot, the features that raised the item most; None unless the model explains.
    lifted_by: Lifts | None = None

    @property
    def users(self) -> int:
        return len(self.rows)


def user_buckets(user_ids: np.ndarray, buckets: int) -> np.ndarray:
    """Each user's bucket: pandas' fixed-key hash of the id, so every process agrees."""
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    hashes = pd.util.hash_array(np.asarray(user_ids, dtype=object))
    return (hashes % np.uint64(buckets)).astype(np.int32)


def active_rows(model: Recommender) -> np.ndarray:
    """Rows of users with some positive signal: the users who get precomputed lists."""
    return np.flatnonzero(np.diff(model.train.confidence.indptr) > 0)


def bucket_rows(model: Recommender, buckets: int) -> list[np.ndarray]:
    """The active users' rows of each bucket, in bucket order."""
    rows = active_rows(model)
    assignment = user_buckets(model.train.user_ids[rows], buckets)
    return [rows[assignment == bucket] for bucket in range(buckets)]


def bucket_lists(model: Recommender, bucket: int, rows: np.ndarray, k: int) -> BucketLists:
    """Top-k lists for the users at `rows` (one bucket's), computed a block of users at a time."""
    k = min(k, model.train.shape[1])
    columns = np.full((len(rows), k), -1, dtype=np.int64)
    scores = np.zeros((len(rows), k), dtype=np.float32)
    lifted: Lifts | None = None
    block = model.recommend_block_size
    for start in range(0, len(rows), block):
        cols, vals, why = model.recommend_explained(rows[start : start + block], k)
        columns[start : start + block, : cols.shape[1]] = cols
        scores[start : start + block, : vals.shape[1]] = vals
        if why is not None:
            if lifted is None:
                lifted = Lifts.none(why.names, len(rows), k)
            lifted.place(start, why)
    return BucketLists(bucket, rows, columns, scores, lifted)


def generate(model: Recommender, k: int, buckets: int, workers: int = 1) -> Iterator[BucketLists]:
    """Every bucket's lists, in bucket order; with `workers` > 1, computed on that many
    threads at once (for models whose `parallel_safe` says they can be)."""
    rows = bucket_rows(model, buckets)
    if workers <= 1:
        for bucket in range(buckets):
            yield bucket_lists(model, bucket, rows[bucket], k)
        return
    model.prepare_scoring()  # what scoring reads lazily, read once before threads share it
    with ThreadPoolExecutor(workers, thread_name_prefix="recsys-bucket") as pool:
        yield from pool.map(bucket_lists, repeat(model), range(buckets), rows, repeat(k))


def neighbour_lists(
    model: Recommender, item_cols: np.ndarray, k: int, block: int = 2048
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(item columns, their k nearest other items, scores), a block of items at a time."""
    for start in range(0, len(item_cols), block):
        rows = item_cols[start : start + block]
        yield (rows, *model.similar(rows, k))
