"""What a version's fold-in is made of: its spec (JSON beside the version) and its arrays."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from recsys.foldin.blend import DEFAULT_COLLAB_WEIGHT, DEFAULT_MIN_INTERACTIONS, Blend

# The collaborative item side a model leaves for fold-in; "none": content alone, or nothing.
ItemSideKind = Literal["factors", "item_item", "none"]
Weighting = Literal["none", "bm25", "tfidf"]


@dataclass(frozen=True)
class FoldInParts:
    """What a fitted model contributes to its fold-in: its item side and how to score with it."""

    kind: ItemSideKind = "none"
    regularization: float = 0.0  # factors: the ALS regularisation the user solve adds
    alpha: float = 1.0  # factors: confidence scale
    weighting: Weighting = "none"  # factors: ALS input weighting
    binary: bool = False  # item-item: 1 for every positive item instead of its confidence
    blend: Blend | None = None  # a composite's own blend (None: the run's)
    factors: np.ndarray | None = field(default=None, repr=False)
    item_weights: sp.csr_matrix | None = field(default=None, repr=False)
    length_norm: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class FoldInSpec:
    """How to score a user; stored as JSON beside the version (`model_versions.fold_in`)."""

    algorithm: str
    collaborative: ItemSideKind = "none"
    regularization: float = 0.0
    alpha: float = 1.0
    weighting: Weighting = "none"
    binary: bool = False
    collab_weight: float = DEFAULT_COLLAB_WEIGHT
    min_interactions: int = DEFAULT_MIN_INTERACTIONS
    content_only_below: bool = False
    # What turned events into confidences for this version (the API aggregates the same way).
    event_weights: dict[str, float] = field(default_factory=dict)
    decay_half_life_days: float = 0.0
    decay_reference: str = ""  # ISO time decay counts age from (the training data's newest event)
    # Do its precomputed lists carry lifts (`Lifecycle.explains_itself`)? None: a version written
    # before this was recorded, when only the learned ranker's did.
    explained: bool | None = None

    @classmethod
    def of(
        cls,
        algorithm: str,
        parts: FoldInParts,
        run_blend: Blend,
        event_weights: dict[str, float],
        decay_half_life_days: float = 0.0,
        decay_reference: str = "",
        explained: bool = False,
    ) -> FoldInSpec:
        """The spec of a fitted model's parts; a composite's own blend wins over the run's."""
        blend = parts.blend or run_blend
        return cls(
            algorithm=algorithm,
            collaborative=parts.kind,
            regularization=parts.regularization,
            alpha=parts.alpha,
            weighting=parts.weighting,
            binary=parts.binary,
            collab_weight=blend.collab_weight,
            min_interactions=blend.min_interactions,
            content_only_below=blend.content_only_below,
            event_weights=dict(event_weights),
            decay_half_life_days=decay_half_life_days,
            decay_reference=decay_reference,
            explained=explained,
        )

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> FoldInSpec:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def blend(self) -> Blend:
        return Blend(self.collab_weight, self.min_interactions, self.content_only_below)

    @property
    def explains_itself(self) -> bool:
        return self.explained if self.explained is not None else self.algorithm == "ranker"

    @property
    def personal(self) -> bool:
        """False when the model has nothing per user (popularity): trending serves everyone."""
        return self.collaborative != "none" or self.algorithm == "content_tfidf"


@dataclass(frozen=True)
class ItemSide:
    """The published arrays, one row per item in `item_ids` order."""

    item_ids: np.ndarray
    content: sp.csr_matrix  # items x terms, L2-normalised TF-IDF
    factors: np.ndarray | None = None  # items x factors (ALS)
    item_weights: sp.csr_matrix | None = None  # items x items (EASE, item-kNN)
    length_norm: np.ndarray | None = None  # per item, for BM25 weighting
