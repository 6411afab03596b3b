"""Popularity: how many users interacted positively with each item. The baseline to beat."""

from __future__ import annotations

import numpy as np

from recsys.matrix import InteractionMatrix
from recsys.models.base import Recommender


class PopularityRecommender(Recommender):
    name = "popularity"

    def fit(self, train: InteractionMatrix) -> PopularityRecommender:
        self.train = train
        self.counts = np.asarray((train.confidence > 0).sum(axis=0)).ravel().astype(np.float32)
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        return np.tile(self.counts, (len(user_rows), 1))

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return np.tile(self.counts, (len(item_cols), 1))

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}
