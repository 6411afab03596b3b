"""Models already fitted during one model selection, so the ranker can take its retrievers
instead of fitting them again.

Selection fits each family's best params on the validation split (tuning) and on the test
split's training part (scoring); the ranker's retrievers are exactly those families with those
params on those same matrices. A model is found by (family, params, the very matrix object it
was fitted on): equal data in another object is not assumed to be the same. Likewise the
ranker's labelled candidates: tuning builds them on the split a ranker's own fit repeats.
"""

from __future__ import annotations

import json
from typing import Any

from recsys.models.base import Recommender
from recsys.models.matrix import InteractionMatrix


class FittedModels:
    def __init__(self, split_of: InteractionMatrix | None = None) -> None:
        self._models: dict[tuple[str, str, int], Recommender] = {}
        # Ranker training frames are built on the inner split of this matrix (selection tunes
        # on the inner split of the test split's train part, which a ranker fit repeats).
        self.split_of = split_of
        self._frames: dict[str, Any] = {}

    def add(self, family: str, params: dict[str, Any], model: Recommender) -> None:
        """Keep `model` (fitted) as `family` with `params` on its own training matrix."""
        self._models[(family, _key(params), id(model.train))] = model

    def find(
        self, family: str, params: dict[str, Any], train: InteractionMatrix
    ) -> Recommender | None:
        model = self._models.get((family, _key(params), id(train)))
        # The model holds its matrix, so a match by id is that matrix, not a recycled address.
        return model if model is not None and model.train is train else None

    def add_frame(self, recipe: dict[str, Any], frame: Any) -> None:
        """Keep a ranker's labelled candidates of `split_of`'s inner split, by its recipe
        (retrievers, params, candidates each, training users)."""
        if self.split_of is not None:
            self._frames[_key(recipe)] = frame

    def find_frame(self, recipe: dict[str, Any], train: InteractionMatrix) -> Any | None:
        """The frame a ranker with `recipe` would build fitting on `train`, if one was kept."""
        return self._frames.get(_key(recipe)) if train is self.split_of else None

    def __len__(self) -> int:
        return len(self._models) + len(self._frames)


def _key(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, default=str)
