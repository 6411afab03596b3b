"""One scorer per kind of item side. Each scores a history of positive (column, confidence)
pairs over every item, and splits each target's score into the history items' parts.

The scores are linear in the history, so the split is exact: ALS `score_i = sum_j w_j *
y_i' A^-1 y_j`, item-item `sum_j x_j W[j, i]`, content `sum_j c_j <v_j, v_i>`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recsys.foldin.spec import FoldInSpec, ItemSide, ItemSideKind

# The per-item scale BM25 weighting uses (implicit.nearest_neighbours.bm25_weight defaults).
BM25_K1 = 100.0
BM25_B = 0.8


class Scorer(Protocol):
    def scores(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """float32 scores over every item."""

    def parts(
        self, columns: np.ndarray, confidences: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Each history item's part of each target's score: (targets x history)."""


class ContentScorer:
    """The history's TF-IDF profile against every item."""

    def __init__(self, spec: FoldInSpec, items: ItemSide) -> None:
        self.content = items.content

    def scores(self, columns, confidences):
        return self.scores_of(self.profile(columns, confidences))

    def profile(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """The history's weight on each term."""
        return np.asarray(self.content[columns].T @ confidences).ravel()

    def scores_of(self, profile: np.ndarray) -> np.ndarray:
        return np.asarray(self.content @ profile, dtype=np.float32).ravel()

    def parts(self, columns, confidences, targets):
        return (self.content[targets] @ self.content[columns].T).toarray() * confidences[None, :]


class FactorScorer:
    """ALS: the user's factors solved exactly from the fixed item factors.

    The same least-squares step ALS alternates, `x = (YtY + Yt(Cu - I)Y + reg I)^-1 Yt Cu p`,
    with the user's confidences weighted as in training (BM25 / TF-IDF per-user idf).
    """

    def __init__(self, spec: FoldInSpec, items: ItemSide) -> None:
        if items.factors is None:
            raise ValueError("an ALS fold-in needs item factors")
        self.spec = spec
        self.n_items = len(items.item_ids)
        self.length_norm = items.length_norm
        self.factors = items.factors.astype(np.float64)
        self.gram = self.factors.T @ self.factors + spec.regularization * np.eye(
            self.factors.shape[1]
        )

    def scores(self, columns, confidences):
        return (self.factors @ self.user_factors(columns, confidences)).astype(np.float32)

    def parts(self, columns, confidences, targets):
        weighted = self.spec.alpha * self.weighted(columns, confidences)
        y = self.factors[columns]
        a = self.gram + (y.T * (weighted - 1.0)) @ y
        return (self.factors[targets] @ np.linalg.solve(a, y.T)) * weighted[None, :]

    def user_factors(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """The exact least-squares user factors for fixed item factors."""
        weighted = self.spec.alpha * self.weighted(columns, confidences)
        y = self.factors[columns]
        a = self.gram + (y.T * (weighted - 1.0)) @ y
        return np.linalg.solve(a, y.T @ weighted)

    def weighted(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """The user's row reweighted as `recsys.models.als.weight_confidence` does in training."""
        weighting = self.spec.weighting
        if weighting == "none":
            return confidences
        # implicit weights the item x user matrix: the idf is per user (how many items they had).
        idf = np.log(self.n_items) - np.log1p(len(columns))
        if weighting == "tfidf":
            return np.sqrt(confidences) * idf
        if weighting == "bm25":
            norm = self.length_norm[columns]
            return confidences * (BM25_K1 + 1.0) / (BM25_K1 * norm + confidences) * idf
        raise ValueError(f"unknown weighting {weighting!r}")


class ItemItemScorer:
    """EASE and item-kNN: the history times the item-item weights."""

    def __init__(self, spec: FoldInSpec, items: ItemSide) -> None:
        if items.item_weights is None:
            raise ValueError("an item-item fold-in needs item weights")
        self.binary = spec.binary
        self.weights = items.item_weights

    def scores(self, columns, confidences):
        values = np.ones_like(confidences) if self.binary else confidences
        return np.asarray(self.weights[columns].T @ values, dtype=np.float32).ravel()

    def parts(self, columns, confidences, targets):
        values = np.ones_like(confidences) if self.binary else confidences
        weights = self.weights[columns][:, targets].toarray()  # history x targets
        return weights.T * values[None, :]


COLLABORATIVE_SCORERS: dict[ItemSideKind, type] = {
    "factors": FactorScorer,
    "item_item": ItemItemScorer,
}


def bm25_length_norm(confidence: sp.csr_matrix) -> np.ndarray:
    """Per-item length normalisation of implicit's BM25 over the item x user matrix."""
    sums = np.asarray(confidence.sum(axis=0), dtype=np.float64).ravel()
    average = sums.mean() if len(sums) else 1.0
    return ((1.0 - BM25_B) + BM25_B * sums / (average or 1.0)).astype(np.float32)
