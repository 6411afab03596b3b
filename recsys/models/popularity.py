"""Popularity: how many users interacted positively with each item. The baseline to beat."""

from __future__ import annotations

import numpy as np

from recsys.models.base import Recommender
from recsys.models.matrix import InteractionMatrix


class PopularityRecommender(Recommender):
    name = "popularity"

    def fit(self, train: InteractionMatrix) -> PopularityRecommender:
        self.train = train
        self.counts = np.asarray((train.confidence > 0).sum(axis=0)).ravel().astype(np.float32)
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        return np.tile(self.counts, (len(user_rows), 1))

    def recommend(self, user_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Everyone's list is the global order minus what they have seen: one sort, not a
        users x items score matrix (popularity is a retriever for every user of the ranker)."""
        k = min(k, len(self.counts))
        seen = self.train.seen[user_rows]
        width = min(k + int(np.diff(seen.indptr).max(initial=0)), len(self.counts))
        order = np.argsort(-self.counts, kind="stable")[:width]
        order = order[np.isfinite(self.counts[order])]
        hidden = seen[:, order].toarray() > 0  # users x width: seen among the best
        columns = np.full((len(user_rows), k), -1, dtype=np.int64)
        scores = np.full((len(user_rows), k), -np.inf, dtype=np.float32)
        rank = np.cumsum(~hidden, axis=1) - 1  # place among the unseen
        keep = ~hidden & (rank < k)
        users, places = np.nonzero(keep)
        columns[users, rank[keep]] = order[places]
        scores[users, rank[keep]] = self.counts[order[places]]
        return columns, scores

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return np.tile(self.counts, (len(item_cols), 1))

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}
