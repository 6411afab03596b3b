"""Which variant a user gets: a stable hash of (experiment, user id), so every request and
every API process agrees, with no state to share.

hashlib on the exact bytes: pandas' hashing stops at a NUL, so "a" and "a\\x00" would share
a bucket (see NOTES).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from itertools import accumulate

from recsys.experiments.design import Experiment, Variant

_SCALE = float(1 << 64)


def position(experiment: str, user_id: str) -> float:
    """The user's place in [0, 1) for this experiment: uniform, independent across
    experiments (the name salts it)."""
    digest = hashlib.sha256(f"{experiment}\x1f{user_id}".encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest()[:8], "big") / _SCALE


class Splitter:
    """An experiment's variants laid out on [0, 1) by weight."""

    def __init__(self, experiment: Experiment) -> None:
        self.experiment = experiment
        total = sum(variant.weight for variant in experiment.variants)
        self._bounds = [edge / total for edge in accumulate(v.weight for v in experiment.variants)]

    def variant_of(self, user_id: str) -> Variant:
        at = position(self.experiment.name, user_id)
        index = min(bisect_right(self._bounds, at), len(self._bounds) - 1)
        return self.experiment.variants[index]

    def expected_shares(self) -> dict[str, float]:
        total = sum(variant.weight for variant in self.experiment.variants)
        return {variant.name: variant.weight / total for variant in self.experiment.variants}
