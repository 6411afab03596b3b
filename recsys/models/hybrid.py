"""Hybrid: blend a collaborative model with content for users with enough history.

final = collab_weight * collaborative + (1 - collab_weight) * content, both scaled per user to
[0, 1], for users with at least `min_interactions`; content alone below that (trending covers
users with nothing at all, at serving time).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recsys.foldin import FoldInParts
from recsys.matrix import InteractionMatrix
from recsys.models.base import Recommender, minmax_rows


class HybridRecommender(Recommender):
    name = "hybrid"

    def __init__(
        self,
        collaborative: Recommender,
        content: Recommender,
        collab_weight: float = 0.7,
        min_interactions: int = 5,
    ) -> None:
        if not 0 <= collab_weight <= 1:
            raise ValueError(f"collab_weight must be in [0, 1], got {collab_weight}")
        self.collaborative = collaborative
        self.content = content
        self.collab_weight = collab_weight
        self.min_interactions = min_interactions

    def params(self) -> dict:
        return {
            "collaborative": self.collaborative.name,
            **{f"collaborative.{k}": v for k, v in self.collaborative.params().items()},
            "collab_weight": self.collab_weight,
            "min_interactions": self.min_interactions,
        }

    def fit(self, train: InteractionMatrix) -> HybridRecommender:
        self.train = train
        self.collaborative.fit(train)
        self.content.fit(train)
        self.history = np.diff(train.confidence.indptr)
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        content = minmax_rows(self.content.scores(user_rows))
        collaborative = minmax_rows(self.collaborative.scores(user_rows))
        blended = self.collab_weight * collaborative + (1 - self.collab_weight) * content
        enough = (self.history[user_rows] >= self.min_interactions)[:, None]
        return np.where(enough, blended, content).astype(np.float32)

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return self.collaborative.item_similarity_rows(item_cols)

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return {**self.collaborative.artifact_arrays(), **self.content.artifact_arrays()}

    def fold_in_parts(self) -> FoldInParts:
        parts = self.collaborative.fold_in_parts()
        return replace(
            parts,
            spec={
                **parts.spec,
                "collab_weight": self.collab_weight,
                "min_interactions": self.min_interactions,
                "content_only_below": True,
            },
        )
