"""Item-kNN from implicit: cosine or BM25-weighted item-item neighbourhoods."""

from __future__ import annotations

import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from recsys.foldin import FoldInParts
from recsys.models.base import Recommender, sparse_arrays, sparse_top_k, unseen
from recsys.models.matrix import InteractionMatrix


class ItemKNNRecommender(Recommender):
    name = "item_knn"

    def __init__(self, neighbours: int = 50, similarity: str = "cosine") -> None:
        if similarity not in ("cosine", "bm25"):
            raise ValueError(f"unknown similarity {similarity!r}: use cosine or bm25")
        self.neighbours = neighbours
        self.similarity = similarity

    def params(self) -> dict:
        return {"neighbours": self.neighbours, "similarity": self.similarity}

    def fit(self, train: InteractionMatrix) -> ItemKNNRecommender:
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        self.train = train
        model = (
            CosineRecommender(K=self.neighbours)
            if self.similarity == "cosine"
            else BM25Recommender(K=self.neighbours)
        )
        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            # implicit converts its own intermediate COO matrix and warns about it.
            warnings.simplefilter("ignore", category=Warning)
            model.fit(train.confidence, show_progress=False)
        self.item_similarity = model.similarity.tocsr().astype(np.float32)
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        return (self.train.confidence[user_rows] @ self.item_similarity).toarray()

    def retrieve(self, user_rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The n best unseen items among those the user's neighbourhoods reach (sparse: a user
        reaches a few hundred items, not the catalogue)."""
        scores = (self.train.confidence[user_rows] @ self.item_similarity).tocsr()
        return sparse_top_k(unseen(scores, self.train.seen[user_rows]), n)

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return self.item_similarity[item_cols].toarray()

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return sparse_arrays("similarity", self.item_similarity)

    def fold_in_parts(self) -> FoldInParts:
        return FoldInParts(kind="item_item", item_weights=self.item_similarity)
