"""Fold-in: score a user at request time from the published model's item side and their events.

The published recommendations cover the users and events a model was trained on. A user who
acted since (or a brand-new user) is scored from their whole current history against what the
model learned about items, without retraining:

- ALS: the user's factors are solved exactly from the fixed item factors (the same
  least-squares step ALS alternates, `x = (YtY + Yt(Cu - I)Y + reg I)^-1 Yt Cu p`), with the
  user's confidences weighted as in training (BM25 / TF-IDF per-user idf);
- EASE and item-kNN: the history times the item-item weights;
- content: the history's TF-IDF profile against every item;
- hybrid: as trained (blend above `min_interactions`, content alone below). Any other
  collaborative model blends with content for users under `min_interactions`, whose few items
  pin down little of the collaborative space.

Plain numpy and scipy: the API loads the arrays and never needs a training library.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp

# The per-item scale BM25 weighting uses (implicit.nearest_neighbours.bm25_weight defaults).
BM25_K1 = 100.0
BM25_B = 0.8


@dataclass(frozen=True)
class FoldInSpec:
    """How to score a user; stored as JSON beside the version (`model_versions.fold_in`)."""

    algorithm: str
    collaborative: str = "none"  # "factors" | "item_item" | "none"
    regularization: float = 0.0
    alpha: float = 1.0
    weighting: str = "none"  # ALS input weighting: "none" | "bm25" | "tfidf"
    binary: bool = False  # item-item: use 1 for every positive item instead of its confidence
    collab_weight: float = 0.7
    min_interactions: int = 5
    content_only_below: bool = False  # hybrid: content alone under min_interactions
    # What turned events into confidences for this version (the API aggregates the same way).
    event_weights: dict[str, float] = field(default_factory=dict)
    decay_half_life_days: float = 0.0
    decay_reference: str = ""  # ISO time decay counts age from (the training data's newest event)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> FoldInSpec:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def personal(self) -> bool:
        """False when the model has nothing per user (popularity): trending serves everyone."""
        return self.collaborative != "none" or self.algorithm == "content_tfidf"


@dataclass(frozen=True)
class FoldInParts:
    """What a fitted model contributes to its fold-in: spec fields and item-side arrays."""

    spec: dict = field(default_factory=dict)
    factors: np.ndarray | None = None
    item_weights: sp.csr_matrix | None = None
    length_norm: np.ndarray | None = None


@dataclass(frozen=True)
class ItemSide:
    """The published arrays, one row per item in `item_ids` order."""

    item_ids: np.ndarray
    content: sp.csr_matrix  # items x terms, L2-normalised TF-IDF
    factors: np.ndarray | None = None  # items x factors (ALS)
    item_weights: sp.csr_matrix | None = None  # items x items (EASE, item-kNN)
    length_norm: np.ndarray | None = None  # per item, for BM25 weighting


class FoldInModel:
    """Scores for one user's history over every item of the published version."""

    def __init__(self, spec: FoldInSpec, items: ItemSide) -> None:
        self.spec = spec
        self.items = items
        self.column_of = {item_id: column for column, item_id in enumerate(items.item_ids)}
        self.content_t = items.content.T.tocsr()
        if spec.collaborative == "factors":
            if items.factors is None:
                raise ValueError("an ALS fold-in needs item factors")
            y = items.factors.astype(np.float64)
            self.factors = y
            self.gram = y.T @ y + spec.regularization * np.eye(y.shape[1])
        if spec.collaborative == "item_item" and items.item_weights is None:
            raise ValueError("an item-item fold-in needs item weights")

    @property
    def n_items(self) -> int:
        return len(self.items.item_ids)

    def columns(self, item_ids) -> tuple[np.ndarray, np.ndarray]:
        """Column of each id the version knows, and a mask of which ids it knows."""
        found = [self.column_of.get(item_id, -1) for item_id in item_ids]
        columns = np.asarray(found, dtype=np.int64)
        return columns[columns >= 0], columns >= 0

    def scores(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray | None:
        """Scores over all items for a history of positive (column, confidence) pairs.

        None when the model has no personal signal for it (no positive items, or popularity).
        """
        keep = confidences > 0
        columns, confidences = columns[keep], confidences[keep].astype(np.float64)
        if len(columns) == 0 or not self.spec.personal:
            return None
        content = self._content_scores(columns, confidences)
        if self.spec.collaborative == "none":
            return content
        collaborative = (
            self._factor_scores(columns, confidences)
            if self.spec.collaborative == "factors"
            else self._item_item_scores(columns, confidences)
        )
        if len(columns) >= self.spec.min_interactions:
            if not self.spec.content_only_below:
                return collaborative
            return self._blend(collaborative, content)
        if self.spec.content_only_below:
            return content
        return self._blend(collaborative, content)

    def contributions(
        self, columns: np.ndarray, confidences: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Each history item's share of each target's score: (targets x history), rows sum to 1.

        The scores are linear in the history, so the split is exact for every family: ALS
        `score_i = sum_j w_j * y_i' A^-1 y_j`, item-item `sum_j x_j W[j, i]`, content
        `sum_j c_j <v_j, v_i>`. Blends mix the two families' shares with the blend weight.
        """
        keep = confidences > 0
        columns, confidences = columns[keep], confidences[keep].astype(np.float64)
        if len(columns) == 0 or len(targets) == 0:
            return np.zeros((len(targets), len(columns)))
        content = _shares(self._content_parts(columns, confidences, targets))
        if self.spec.collaborative == "none":
            return content
        collaborative = _shares(
            self._factor_parts(columns, confidences, targets)
            if self.spec.collaborative == "factors"
            else self._item_item_parts(columns, confidences, targets)
        )
        enough = len(columns) >= self.spec.min_interactions
        if enough and not self.spec.content_only_below:
            return collaborative
        if not enough and self.spec.content_only_below:
            return content
        weight = self.spec.collab_weight
        return weight * collaborative + (1 - weight) * content

    def _factor_parts(self, columns, confidences, targets) -> np.ndarray:
        weighted = self.spec.alpha * self._weighted(columns, confidences)
        y = self.factors[columns]
        a = self.gram + (y.T * (weighted - 1.0)) @ y
        return (self.factors[targets] @ np.linalg.solve(a, y.T)) * weighted[None, :]

    def _item_item_parts(self, columns, confidences, targets) -> np.ndarray:
        values = np.ones_like(confidences) if self.spec.binary else confidences
        weights = self.items.item_weights[columns][:, targets].toarray()  # history x targets
        return weights.T * values[None, :]

    def _content_parts(self, columns, confidences, targets) -> np.ndarray:
        content = self.items.content
        return (content[targets] @ content[columns].T).toarray() * confidences[None, :]

    def user_factors(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """The exact least-squares user factors for fixed item factors."""
        weighted = self.spec.alpha * self._weighted(columns, confidences)
        y = self.factors[columns]
        a = self.gram + (y.T * (weighted - 1.0)) @ y
        b = y.T @ weighted
        return np.linalg.solve(a, b)

    def _weighted(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """The user's row reweighted as `recsys.models.als.weight_confidence` does in training."""
        weighting = self.spec.weighting
        if weighting == "none":
            return confidences
        # implicit weights the item x user matrix: the idf is per user (how many items they had).
        idf = np.log(self.n_items) - np.log1p(len(columns))
        if weighting == "tfidf":
            return np.sqrt(confidences) * idf
        if weighting == "bm25":
            norm = self.items.length_norm[columns]
            return confidences * (BM25_K1 + 1.0) / (BM25_K1 * norm + confidences) * idf
        raise ValueError(f"unknown weighting {weighting!r}")

    def _factor_scores(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        return (self.factors @ self.user_factors(columns, confidences)).astype(np.float32)

    def _item_item_scores(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        values = np.ones_like(confidences) if self.spec.binary else confidences
        weights = self.items.item_weights[columns]
        return np.asarray(weights.T @ values, dtype=np.float32).ravel()

    def _content_scores(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        profile = self.items.content[columns].T @ confidences  # terms
        return np.asarray(self.items.content @ profile, dtype=np.float32).ravel()

    def _blend(self, collaborative: np.ndarray, content: np.ndarray) -> np.ndarray:
        weight = self.spec.collab_weight
        return (weight * _minmax(collaborative) + (1 - weight) * _minmax(content)).astype(
            np.float32
        )


def bm25_length_norm(confidence: sp.csr_matrix) -> np.ndarray:
    """Per-item length normalisation of implicit's BM25 over the item x user matrix."""
    sums = np.asarray(confidence.sum(axis=0), dtype=np.float64).ravel()
    average = sums.mean() if len(sums) else 1.0
    return ((1.0 - BM25_B) + BM25_B * sums / (average or 1.0)).astype(np.float32)


def _shares(parts: np.ndarray) -> np.ndarray:
    """Rows of positive contributions scaled to sum to 1 (all zero where nothing helped)."""
    positive = np.clip(parts, 0.0, None)
    totals = positive.sum(axis=1, keepdims=True)
    return np.divide(positive, totals, out=np.zeros_like(positive), where=totals > 0)


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)
