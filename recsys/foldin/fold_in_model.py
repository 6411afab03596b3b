"""A version's fold-in: its item side's scorers and its blend, for one user's history."""

from __future__ import annotations

import numpy as np

from recsys.foldin.blend import blend_rows
from recsys.foldin.scorers import COLLABORATIVE_SCORERS, ContentScorer
from recsys.foldin.spec import FoldInSpec, ItemSide


class FoldInModel:
    """Scores for one user's history over every item of the published version."""

    def __init__(self, spec: FoldInSpec, items: ItemSide) -> None:
        self.spec = spec
        self.items = items
        self.column_of = {item_id: column for column, item_id in enumerate(items.item_ids)}
        self.content = ContentScorer(spec, items)
        scorer = COLLABORATIVE_SCORERS.get(spec.collaborative)
        self.collaborative = scorer(spec, items) if scorer else None

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
        columns, confidences = _positive(columns, confidences)
        if len(columns) == 0 or not self.spec.personal:
            return None
        share = self._collaborative_share(len(columns))
        if share == 0.0:
            return self.content.scores(columns, confidences)
        collaborative = self.collaborative.scores(columns, confidences)
        if share == 1.0:
            return collaborative
        content = self.content.scores(columns, confidences)
        return blend_rows(collaborative, content, share)

    def content_profile(self, columns: np.ndarray, confidences: np.ndarray) -> np.ndarray:
        """The history's TF-IDF profile (terms): what places items the version lacks."""
        columns, confidences = _positive(columns, confidences)
        return self.content.profile(columns, confidences)

    def contributions(
        self, columns: np.ndarray, confidences: np.ndarray, targets: np.ndarray
    ) -> np.ndarray:
        """Each history item's share of each target's score: (targets x history), rows sum to 1.

        Blends mix the two sides' shares with the blend's weight.
        """
        columns, confidences = _positive(columns, confidences)
        if len(columns) == 0 or len(targets) == 0:
            return np.zeros((len(targets), len(columns)))
        share = self._collaborative_share(len(columns))
        mixed = np.zeros((len(targets), len(columns)))
        if share > 0.0:
            mixed += share * _shares(self.collaborative.parts(columns, confidences, targets))
        if share < 1.0:
            mixed += (1 - share) * _shares(self.content.parts(columns, confidences, targets))
        return mixed

    def _collaborative_share(self, history_length: int) -> float:
        if self.collaborative is None:
            return 0.0
        return float(self.spec.blend.collaborative_share(history_length))


def _positive(columns: np.ndarray, confidences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = confidences > 0
    return columns[keep], confidences[keep].astype(np.float64)


def _shares(parts: np.ndarray) -> np.ndarray:
    """Rows of positive contributions scaled to sum to 1 (all zero where nothing helped)."""
    positive = np.clip(parts, 0.0, None)
    totals = positive.sum(axis=1, keepdims=True)
    return np.divide(positive, totals, out=np.zeros_like(positive), where=totals > 0)
