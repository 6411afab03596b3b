"""Fold-in: score a user at request time from the published model's item side and their events.

The published recommendations cover the users and events a model was trained on. A user who
acted since (or a brand-new user) is scored from their whole current history against what the
model learned about items, without retraining. One scorer per kind of item side
(`recsys.foldin.scorers`): ALS factors, item-item weights (EASE, item-kNN), content TF-IDF; the
version's `Blend` mixes the collaborative side with content for short histories, as the hybrid
does in training (`recsys.foldin.blend`).

Plain numpy and scipy: the API loads the arrays and never needs a training library.
"""

from recsys.foldin.fold_in_model import FoldInModel
from recsys.foldin.scorers import BM25_B, BM25_K1, bm25_length_norm
from recsys.foldin.spec import FoldInParts, FoldInSpec, ItemSide, ItemSideKind

__all__ = [
    "BM25_B",
    "BM25_K1",
    "FoldInModel",
    "FoldInParts",
    "FoldInSpec",
    "ItemSide",
    "ItemSideKind",
    "bm25_length_norm",
]
