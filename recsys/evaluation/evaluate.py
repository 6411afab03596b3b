"""One evaluation loop for every model: fit on the split's train part, rank, score the test part."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from recsys.evaluation import metrics
from recsys.evaluation.split import TemporalSplit
from recsys.models.base import Recommender
from recsys.models.matrix import InteractionMatrix, build_matrix

RANKING_METRICS = {
    "precision": metrics.precision_at_k,
    "recall": metrics.recall_at_k,
    "ndcg": metrics.ndcg_at_k,
    "map": metrics.average_precision_at_k,
    "hit_rate": metrics.hit_rate_at_k,
}


@dataclass
class EvaluationData:
    """The train matrix and, per evaluated user row, the held-out relevant items."""

    train: InteractionMatrix
    relevant: dict[int, frozenset[str]]
    popularity: dict[str, float]  # share of train users who had each item
    genres: dict[str, frozenset[str]]

    @property
    def users(self) -> np.ndarray:
        return np.fromiter(self.relevant, dtype=np.int64)

    def sample(self, max_users: int) -> EvaluationData:
        """At most `max_users` of the evaluated users: a fixed sample by a hash of their ids (the
        same users for every model and every run), so costly models stay affordable to score."""
        if not max_users or len(self.relevant) <= max_users:
            return self
        rows = self.users
        hashes = pd.util.hash_array(np.asarray(self.train.user_ids[rows], dtype=object))
        kept = rows[np.argsort(hashes, kind="stable")[:max_users]]
        relevant = {int(row): self.relevant[int(row)] for row in np.sort(kept)}
        return EvaluationData(self.train, relevant, self.popularity, self.genres)


def prepare(split: TemporalSplit, items: pd.DataFrame | None = None) -> EvaluationData:
    """Build the train matrix and the relevant sets of users present in train."""
    train = build_matrix([split.train[["user_id", "item_id", "confidence", "disliked"]]])
    rows = {user: row for row, user in enumerate(train.user_ids)}
    relevant = {
        rows[user]: items
        for user, items in _items_per_user(split.test[split.test["relevant"]])
        if user in rows
    }
    users_per_item = np.asarray((train.confidence > 0).sum(axis=0)).ravel()
    n_users = max(train.shape[0], 1)
    popularity = {
        item: max(count, 1) / n_users
        for item, count in zip(train.item_ids, users_per_item, strict=True)
    }
    genres = (
        {row.item_id: frozenset(row.genres) for row in items.itertuples()}
        if items is not None
        else {}
    )
    return EvaluationData(train=train, relevant=relevant, popularity=popularity, genres=genres)


def _items_per_user(pairs: pd.DataFrame) -> list[tuple[str, frozenset[str]]]:
    """(user, their items) per user of `pairs`, by user: one sort, not a group per user."""
    ordered = pairs.sort_values("user_id", kind="stable")
    users = ordered["user_id"].to_numpy()
    if len(users) == 0:
        return []
    starts = np.concatenate(([0], np.flatnonzero(users[1:] != users[:-1]) + 1))
    items = np.split(ordered["item_id"].to_numpy(), starts[1:])
    return [(users[start], frozenset(group)) for start, group in zip(starts, items, strict=True)]


def recommend_blocks(model: Recommender, blocks: list[np.ndarray], k: int) -> Iterator[np.ndarray]:
    """Each block's top-k columns, on as many threads as the model scores well on."""
    workers = model.preferred_workers if model.parallel_safe else 1
    if workers <= 1 or len(blocks) < 2:
        yield from (model.recommend(rows, k)[0] for rows in blocks)
        return
    model.prepare_scoring()
    with ThreadPoolExecutor(min(workers, len(blocks))) as pool:
        yield from (columns for columns, _ in pool.map(model.recommend, blocks, repeat(k)))


def evaluate(
    model: Recommender,
    data: EvaluationData,
    ks: Sequence[int] = (10, 20, 50),  # multi-stage systems report recall and NDCG deep
    cold_threshold: int = 5,
    block_size: int = 1024,
    beyond_accuracy: bool = True,
    per_user: dict[int, float] | None = None,
) -> dict[str, float]:
    """Metrics at each K over users with relevant held-out items; the model must be fitted.

    Keys: `ndcg_at_10`, ..., `recall_at_50`, `coverage_at_10`, `novelty_at_10`,
    `diversity_at_10` (beyond-accuracy figures at K up to 20: the lists people see), the ranking
    metrics again for warm and cold users (`cold_ndcg_at_10`: fewer than `cold_threshold` train
    items; left out when a group is empty), and `users` / `cold_users`. `beyond_accuracy=False`
    skips coverage, novelty and diversity (tuning trials only need the ranking metrics).
    `per_user`, if given, receives each user row's NDCG@10 (for bootstrap intervals).
    """
    users = data.users
    history = np.diff(data.train.confidence.indptr)
    k_max = max(ks)
    lists: dict[int, list[str]] = {}
    blocks = [users[start : start + block_size] for start in range(0, len(users), block_size)]
    for rows, columns in zip(blocks, recommend_blocks(model, blocks, k_max), strict=True):
        for row, cols in zip(rows, columns, strict=True):
            lists[int(row)] = [data.train.item_ids[c] for c in cols if c >= 0]

    results: dict[str, float] = {"users": float(len(users))}
    cold = {row for row in lists if history[row] < cold_threshold}
    results["cold_users"] = float(len(cold))
    for k in ks:
        for name, metric in RANKING_METRICS.items():
            values = {row: metric(lists[row], data.relevant[row], k) for row in lists}
            if per_user is not None and name == "ndcg" and k == 10:
                per_user.update(values)
            results[f"{name}_at_{k}"] = _mean(values.values())
            # A group with no users gets no figure rather than a misleading zero.
            if cold:
                results[f"cold_{name}_at_{k}"] = _mean(v for r, v in values.items() if r in cold)
            if len(cold) < len(values):
                warm = (v for r, v in values.items() if r not in cold)
                results[f"warm_{name}_at_{k}"] = _mean(warm)
        if not beyond_accuracy or k > 20:
            continue
        ranked_lists = list(lists.values())
        results[f"coverage_at_{k}"] = metrics.catalogue_coverage(
            ranked_lists, data.train.shape[1], k
        )
        floor = min(data.popularity.values(), default=1.0)
        results[f"novelty_at_{k}"] = _mean(
            metrics.novelty(ranked, data.popularity, k, floor) for ranked in ranked_lists
        )
        if data.genres:
            results[f"diversity_at_{k}"] = metrics.genre_diversity(ranked_lists, data.genres, k)
    return results


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else 0.0
