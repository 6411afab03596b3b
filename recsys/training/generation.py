"""Recommendation generation in user buckets, so it can be spread over workers and threads.

    user -> bucket = stable hash(user id) % buckets          (the same in every process and run)
    bucket -> its active users -> slices -> model.recommend in blocks -> (rows, columns, scores)

Each bucket is independent: the pipeline runs one Dagster step per bucket
(`recsys_assets.assets.user_lists`), so the job's executor places them: all in the run's
process, one process each, or one Kubernetes pod each. Inside a step, `generate_bucket` cuts the
bucket's users into slices computed on threads while the caller writes finished ones. Threads,
not processes: scoring spends its time in numpy, LightGBM and implicit, which release the GIL,
and a thread needs no copy of the model. Memory stays bounded by a block of users per thread,
never users x items.
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
class UserLists:
    """Top-K lists of one part of the users (a bucket, or a slice of one): matrix rows, item
    columns per row (-1: empty), scores."""

    part: int
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
    rows, assignment = _assigned(model, buckets)
    return [rows[assignment == bucket] for bucket in range(buckets)]


def rows_of_bucket(model: Recommender, bucket: int, buckets: int) -> np.ndarray:
    """The active users' rows in one bucket."""
    if not 0 <= bucket < buckets:
        raise ValueError(f"bucket {bucket} is not one of 0..{buckets - 1}")
    rows, assignment = _assigned(model, buckets)
    return rows[assignment == bucket]


def _assigned(model: Recommender, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """The active users' rows and each one's bucket."""
    rows = active_rows(model)
    return rows, user_buckets(model.train.user_ids[rows], buckets)


def part_lists(model: Recommender, part: int, rows: np.ndarray, k: int) -> UserLists:
    """Top-k lists for the users at `rows`, computed a block of users at a time."""
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
    return UserLists(part, rows, columns, scores, lifted)


def generate(model: Recommender, k: int, buckets: int, workers: int = 1) -> Iterator[UserLists]:
    """Every bucket's lists, in bucket order; with `workers` > 1, computed on that many
    threads at once (for models whose `parallel_safe` says they can be)."""
    return _on_threads(model, bucket_rows(model, buckets), k, workers)


# Users per slice of a bucket: a slice's lists and its Arrow rows (tens of MB at K=50) are what
# a step holds at once, however large the bucket.
SLICE_USERS = 20_000


def generate_bucket(
    model: Recommender, rows: np.ndarray, k: int, workers: int = 1, slice_users: int = SLICE_USERS
) -> Iterator[UserLists]:
    """One bucket's lists (its users' `rows`) in slices of at most `slice_users` users (and at
    least one per worker), in order, each ready to write while the next ones are computed."""
    pieces = min(max(-(-len(rows) // slice_users), workers, 1), max(len(rows), 1))
    return _on_threads(model, np.array_split(rows, pieces), k, workers)


def _on_threads(
    model: Recommender, parts: list[np.ndarray], k: int, workers: int
) -> Iterator[UserLists]:
    if workers <= 1:
        for part, rows in enumerate(parts):
            yield part_lists(model, part, rows, k)
        return
    model.prepare_scoring()  # what scoring reads lazily, read once before threads share it
    with ThreadPoolExecutor(workers, thread_name_prefix="recsys-bucket") as pool:
        yield from pool.map(part_lists, repeat(model), range(len(parts)), parts, repeat(k))


def neighbour_lists(
    model: Recommender, item_cols: np.ndarray, k: int, block: int = 2048
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(item columns, their k nearest other items, scores), a block of items at a time."""
    for start in range(0, len(item_cols), block):
        rows = item_cols[start : start + block]
        yield (rows, *model.similar(rows, k))
