"""Hybrid: blend a collaborative model with content for users with enough history.

final = collab_weight * collaborative + (1 - collab_weight) * content, both scaled per user to
[0, 1], for users with at least `min_interactions`; content alone below that (trending covers
users with nothing at all, at serving time). Fold-in mixes the same way (`recsys.foldin.blend`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from recsys.foldin import FoldInParts
from recsys.foldin.blend import DEFAULT_COLLAB_WEIGHT, DEFAULT_MIN_INTERACTIONS, Blend, blend_rows
from recsys.models.base import Recommender
from recsys.models.matrix import InteractionMatrix


class HybridRecommender(Recommender):
    name = "hybrid"

    def __init__(
        self,
        collaborative: Recommender,
        content: Recommender,
        collab_weight: float = DEFAULT_COLLAB_WEIGHT,
        min_interactions: int = DEFAULT_MIN_INTERACTIONS,
    ) -> None:
        self.blend = Blend(collab_weight, min_interactions, content_only_below=True)
        self.collaborative = collaborative
        self.content = content

    @property
    def collab_weight(self) -> float:
        return self.blend.collab_weight

    @property
    def min_interactions(self) -> int:
        return self.blend.min_interactions

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
        share = self.blend.collaborative_share(self.history[user_rows])
        content = self.content.scores(user_rows)
        collaborative = self.collaborative.scores(user_rows)
        return blend_rows(collaborative, content, share)

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return self.collaborative.item_similarity_rows(item_cols)

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return {**self.collaborative.artifact_arrays(), **self.content.artifact_arrays()}

    def fold_in_parts(self) -> FoldInParts:
        return replace(self.collaborative.fold_in_parts(), blend=self.blend)
