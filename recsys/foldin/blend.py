"""How a collaborative model and content mix, for the hybrid and for request-time fold-in.

Collaborative scores pin a user down once they have some history; below that, content (what
the few items they touched are like) carries more. Both sides are scaled per user to [0, 1]
before they mix, so neither's units dominate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Where request-time blends start before any search (and where the hybrid's search starts).
DEFAULT_COLLAB_WEIGHT = 0.7
DEFAULT_MIN_INTERACTIONS = 5


@dataclass(frozen=True)
class Blend:
    """The share of the collaborative side in a user's scores, by the length of their history.

    With `content_only_below` (the hybrid): the blend from `min_interactions` items on, content
    alone below. Without it (any other collaborative model at fold-in): the collaborative model
    alone from `min_interactions` on, the blend below, where its few items pin down little.
    """

    collab_weight: float = DEFAULT_COLLAB_WEIGHT
    min_interactions: int = DEFAULT_MIN_INTERACTIONS
    content_only_below: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.collab_weight <= 1:
            raise ValueError(f"collab_weight must be in [0, 1], got {self.collab_weight}")

    def collaborative_share(self, history_length):
        """1.0, `collab_weight` or 0.0 for each history length (a scalar or an array)."""
        enough = np.asarray(history_length) >= self.min_interactions
        if self.content_only_below:
            return np.where(enough, self.collab_weight, 0.0)
        return np.where(enough, 1.0, self.collab_weight)


def blend_rows(collaborative: np.ndarray, content: np.ndarray, share) -> np.ndarray:
    """`share` of each row's scaled collaborative scores plus the rest of its scaled content."""
    share = np.asarray(share, dtype=np.float32)
    if share.ndim == 1:
        share = share[:, None]
    mixed = share * minmax_rows(collaborative) + (1 - share) * minmax_rows(content)
    return mixed.astype(np.float32)


def minmax_rows(scores: np.ndarray) -> np.ndarray:
    """Scale each row to [0, 1] over its finite entries, so different models' scores can mix."""
    finite = np.isfinite(scores)
    low = np.where(finite, scores, np.inf).min(axis=-1, keepdims=True)
    high = np.where(finite, scores, -np.inf).max(axis=-1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    scaled = (scores - np.where(np.isfinite(low), low, 0.0)) / span
    return np.where(finite, scaled, scores).astype(np.float32)
