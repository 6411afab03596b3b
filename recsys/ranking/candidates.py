"""Retrieval, the first stage: every retriever's top N per user, united, with each retriever's
score and rank kept as features for the ranker.

Retrievers are fitted models of the registered families (ALS, EASE, item-kNN, content,
popularity) plus `RecentNeighbours`: items similar to the user's last few items, which catches
what a user is into right now rather than over their whole history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.models.base import Recommender, sparse_top_k, unseen
from recsys.models.matrix import InteractionMatrix
from recsys.ranking.feature_source import FeatureSource
from recsys.ranking.features import FEATURES

RECENT = "recent_neighbours"
MISSING_RANK = 1_000.0  # the rank a retriever "gave" an item it did not retrieve


class RecentNeighbours(Recommender):
    """Items most similar to each user's `last_n` most recent items (by an item-item model's
    similarity), the more recent the heavier."""

    name = RECENT

    def __init__(self, similarity: Recommender, recent: sp.csr_matrix) -> None:
        self.similarity = similarity  # a fitted model with item_similarity_rows
        self.recent = recent  # users x items, weight of each recent item (0 elsewhere)

    def fit(self, train: InteractionMatrix) -> RecentNeighbours:
        self.train = train
        return self

    def retrieve(self, user_rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        weights = getattr(self.similarity, "item_similarity", None)
        if weights is None:  # a dense similarity (EASE, ALS): the dense path
            return self.recommend(user_rows, n)
        scores = (self.recent[user_rows] @ weights).tocsr()
        return sparse_top_k(unseen(scores, self.train.seen[user_rows]), n)

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        recent = self.recent[user_rows]
        scores = np.zeros((len(user_rows), self.train.shape[1]), np.float32)
        items = np.unique(recent.indices)
        if len(items):
            rows = self.similarity.item_similarity_rows(items)  # items x all items
            scores += recent[:, items] @ rows
        return scores


def recent_items(train: InteractionMatrix, last_at: pd.DataFrame, last_n: int = 5) -> sp.csr_matrix:
    """Users x items: weight 1/(position) for each user's `last_n` latest positive items.

    `last_at` holds (user_id, item_id, last_at) pairs; pairs not in `train` are ignored."""
    user_rows = pd.Series(np.arange(len(train.user_ids)), index=train.user_ids)
    item_cols = pd.Series(np.arange(len(train.item_ids)), index=train.item_ids)
    latest = last_at.sort_values("last_at", ascending=False, kind="stable")
    latest = latest.assign(position=latest.groupby("user_id").cumcount() + 1)
    latest = latest[latest["position"] <= last_n]
    rows = user_rows.reindex(latest["user_id"]).to_numpy()
    cols = item_cols.reindex(latest["item_id"]).to_numpy()
    known = ~(np.isnan(rows) | np.isnan(cols))
    weights = 1.0 / latest["position"].to_numpy()[known]
    matrix = sp.csr_matrix(
        (weights.astype(np.float32), (rows[known].astype(int), cols[known].astype(int))),
        shape=train.shape,
    )
    return matrix.multiply(train.confidence > 0).tocsr()


def retrieve(
    retrievers: Mapping[str, Recommender], user_rows: np.ndarray, depth: Mapping[str, int]
) -> dict[str, np.ndarray]:
    """The union of every retriever's top `depth[name]` unseen items for `user_rows`.

    Columns of one entry per (row, col), sorted, with `<name>_score` (NaN when that retriever
    did not retrieve it), `<name>_rank` (1 = its best; MISSING_RANK when absent) and
    `retrieved_by` (how many did). Keys are row * items + col, so the union is one sorted
    unique of integers."""
    user_rows = np.asarray(user_rows, dtype=np.int64)
    found = {}
    for name, model in retrievers.items():
        cols, scores = model.retrieve(user_rows, depth[name])
        valid = cols >= 0
        ranks = np.broadcast_to(np.arange(1, cols.shape[1] + 1, dtype=np.float32), cols.shape)
        rows = np.broadcast_to(user_rows[:, None], cols.shape)
        found[name] = (rows[valid], cols[valid], scores[valid], ranks[valid])
    width = 1 + max((int(c.max()) for _, c, _, _ in found.values() if len(c)), default=0)
    keys = {name: r * width + c for name, (r, c, _, _) in found.items()}
    union = sorted_unique(np.concatenate(list(keys.values()))) if keys else np.empty(0, np.int64)
    frame = {"row": union // width, "col": union % width}
    by = np.zeros(len(union), np.float32)
    for name, (_, _, scores, ranks) in found.items():
        at = np.searchsorted(union, keys[name])
        score = np.full(len(union), np.nan, np.float32)
        rank = np.full(len(union), MISSING_RANK, np.float32)
        score[at], rank[at] = scores, ranks
        frame[f"{name}_score"], frame[f"{name}_rank"] = score, rank
        by[at] += 1
    frame["retrieved_by"] = by
    return frame


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """`np.unique(values)` by a sort: numpy 2's np.unique hashes first, which is about 100x
    slower on the million-key unions of a block of users."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def rank_lists(
    rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, user_rows: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(columns, scores) of each user's k best candidates (rows[i], cols[i]) by `scores`, in
    `user_rows` order; -1 marks empty slots (a user with fewer than k candidates)."""
    columns = np.full((len(user_rows), k), -1, dtype=np.int64)
    best = np.full((len(user_rows), k), -np.inf, dtype=np.float32)
    if len(rows) == 0 or k == 0:
        return columns, best
    position = pd.Series(np.arange(len(user_rows)), index=user_rows)
    slot = position.reindex(rows).to_numpy()
    order = np.lexsort((-scores, slot))
    slot, cols, vals = slot[order], cols[order], scores[order]
    start = np.searchsorted(slot, np.arange(len(user_rows)))
    rank = np.arange(len(slot)) - start[slot.astype(int)]
    keep = rank < k
    columns[slot[keep].astype(int), rank[keep]] = cols[keep]
    best[slot[keep].astype(int), rank[keep]] = vals[keep]
    return columns, best


@dataclass
class Candidates:
    """A block's candidates, sorted by (row, col): matrix rows, item columns, and a row of
    `names` features each (float32, ready for the booster)."""

    rows: np.ndarray
    cols: np.ndarray
    features: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return len(self.rows)

    def ordered(self, names: list[str]) -> Candidates:
        """The same candidates with their features in `names` order (a booster's)."""
        if names == self.names or len(self) == 0:
            return self
        at = [self.names.index(name) for name in names]
        return Candidates(self.rows, self.cols, self.features[:, at], list(names))

    def find(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Positions of the (rows[i], cols[i]) candidates, which must be among them."""
        width = int(max(self.cols.max(), cols.max())) + 1
        return np.searchsorted(self.rows * width + self.cols, rows * width + cols)


def candidate_features(
    retrievers: dict[str, Recommender],
    train: InteractionMatrix,
    source: FeatureSource,
    user_rows: np.ndarray,
    depth: dict[str, int],
) -> Candidates:
    """Candidates of `user_rows` with retriever scores and ranks and the warehouse features."""
    found = retrieve(
        retrievers, np.asarray(user_rows), {name: depth.get(name, 100) for name in retrievers}
    )
    rows, cols = found["row"], found["col"]
    names = [c for c in found if c not in ("row", "col")] + list(FEATURES)
    # Column-major: each feature is written contiguously (the booster takes any layout).
    matrix = np.empty((len(rows), len(names)), np.float32, order="F")
    if len(rows) == 0:
        return Candidates(rows, cols, matrix, names)
    users, items, history = source.positions(train.user_ids, train.item_ids)
    columns = source.feature_columns(
        train.user_ids[rows],
        train.item_ids[cols],
        (users[rows], items[cols], history[cols]),
    )
    for j, name in enumerate(names):
        matrix[:, j] = columns[name] if name in columns else found[name]
    return Candidates(rows, cols, matrix, names)
