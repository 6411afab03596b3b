"""A version's second stage at request time: what ranks a fresh user's candidates when the
version's family has more than one stage.

A family with request-time data of its own publishes it as named bundles
(`recsys.models.lifecycle.Lifecycle.serving_bundles`); the module that reads a bundle registers
a loader under the bundle's name, and the API loads each bundle of the version it serves
through this registry, without knowing the family. A bundle no loader is registered for is
left out (fold-in then uses the version's item side alone), as an old API would.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pairs:
    """One user's pairs as training aggregates them: confidence (0 when disliked), dislike
    flag, last time (epoch seconds) and rating (NaN when unrated), over version columns."""

    columns: np.ndarray
    confidences: np.ndarray
    disliked: np.ndarray
    last_at: np.ndarray
    ratings: np.ndarray


class SecondStage(Protocol):
    item_ids: np.ndarray  # the version's item order, as its item side's

    def rank(self, pairs: Pairs, as_of: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's k best unseen version columns and their scores, best first."""
        ...


Loader = Callable[[bytes], SecondStage]
_LOADERS: dict[str, Loader] = {}


def register(name: str, loader: Loader) -> None:
    """Read bundles called `name` with `loader` (a family's request-time module does this once,
    at import)."""
    _LOADERS[name] = loader


def unregister(name: str) -> None:
    _LOADERS.pop(name, None)


def load(bundles: dict[str, bytes], item_ids: np.ndarray) -> SecondStage | None:
    """The second stage of a version's `bundles`, when one is registered and it shares the
    fold-in item side's item order (fold-in maps a history to columns once, through the item
    side); None otherwise."""
    for name, data in bundles.items():
        loader = _LOADERS.get(name)
        if loader is None:
            log.error("no second stage is registered for bundle %r; fold-in uses one stage", name)
            continue
        stage = loader(data)
        if list(stage.item_ids) != list(item_ids):  # never written so: fold in one stage
            log.error("bundle %r and item side list different items; fold-in uses one stage", name)
            return None
        return stage
    return None


def npz_arrays(data: bytes) -> dict[str, np.ndarray]:
    """The arrays of a bundle written with `np.savez` (no pickles)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}
