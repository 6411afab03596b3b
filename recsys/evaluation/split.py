"""Holdout splits of the `interactions` pairs: train on one part, test on the rest.

Protocols (`RECSYS_EVALUATION_SPLIT`), so users can reproduce the published protocol of a
benchmark suite and compare like with like:
- `temporal` (default): each user's most recent `holdout_fraction` of pairs is held out. Train
  is each user's past: no future leaks into training (temporal splits are much harder than
  random ones on MovieLens: the figures to beat, not to match).
- `global_time`: one cut in time for everyone; pairs after it are held out.
- `random`: each user's held-out pairs are drawn at random (seeded), the same share per user
  (stratified). It lets the future into training and flatters every model; offered because
  many published results use it.
- `leave_last_out`: each user's single most recent pair (users with at least two).

Relevance: a held-out pair counts when rated at least `rating_threshold` stars (implicit pairs:
a confidence of a completed view) and not disliked; a threshold of 0 counts every held-out pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Protocol = Literal["temporal", "global_time", "random", "leave_last_out"]
PROTOCOLS: tuple[str, ...] = ("temporal", "global_time", "random", "leave_last_out")
# Names the split had before the protocols were named; old run configs keep working.
ALIASES = {"per_user": "temporal", "global": "global_time"}


@dataclass(frozen=True)
class SplitConfig:
    holdout_fraction: float = 0.2
    mode: str = "temporal"  # a Protocol, or an alias in ALIASES
    # Explicit ratings: a held-out pair is relevant when rated at least this many stars
    # (0: every held-out pair is relevant).
    rating_threshold: float = 4.0
    # Implicit pairs (no rating): relevant when their confidence reaches this (a completed view).
    min_confidence: float = 3.0
    seed: int = 42  # the random protocol's draw

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"unknown evaluation split {self.mode!r}: use one of {', '.join(PROTOCOLS)}"
            )
        if not 0 < self.holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if self.rating_threshold < 0:
            raise ValueError(f"rating_threshold must be >= 0, got {self.rating_threshold}")

    @property
    def protocol(self) -> str:
        return ALIASES.get(self.mode, self.mode)

    def describe(self) -> str:
        """What produced a model's metrics, recorded beside them."""
        held = {
            "temporal": f"each user's latest {self.holdout_fraction:.0%}",
            "global_time": f"the latest {self.holdout_fraction:.0%} of all pairs by time",
            "random": f"a random {self.holdout_fraction:.0%} per user (seed {self.seed})",
            "leave_last_out": "each user's latest pair",
        }[self.protocol]
        relevant = (
            "every held-out pair"
            if self.rating_threshold == 0
            else f"rated >= {self.rating_threshold:g} (or completed, if unrated)"
        )
        return f"{self.protocol}: held out {held}; relevant: {relevant}"


@dataclass
class TemporalSplit:
    train: pd.DataFrame
    test: pd.DataFrame  # held-out pairs, with a boolean `relevant` column


def holdout_split(pairs: pd.DataFrame, config: SplitConfig = SplitConfig()) -> TemporalSplit:
    """Split (user_id, item_id, confidence, disliked, last_at[, rating]) pairs by the
    configured protocol."""
    ordered = pairs.sort_values(["user_id", "last_at", "item_id"], kind="stable")
    held_out = _held_out(ordered, config)
    train = ordered[~held_out].reset_index(drop=True)
    test = ordered[held_out].reset_index(drop=True)
    test = test.assign(relevant=_relevant(test, config))
    return TemporalSplit(train=train, test=test)


def _held_out(ordered: pd.DataFrame, config: SplitConfig) -> pd.Series:
    by_user = ordered.groupby("user_id")
    sizes = by_user["item_id"].transform("size")
    protocol = config.protocol
    if protocol == "global_time":
        cutoff = ordered["last_at"].quantile(1 - config.holdout_fraction)
        return ordered["last_at"] > cutoff
    if protocol == "leave_last_out":
        return (by_user.cumcount(ascending=False) == 0) & (sizes >= 2)
    if protocol == "random":
        # A seeded random order within each user; the first share of it is held out.
        draw = pd.Series(np.random.default_rng(config.seed).random(len(ordered)), ordered.index)
        order = draw.groupby(ordered["user_id"]).rank(method="first") - 1
        return order < np.floor(sizes * config.holdout_fraction)
    from_end = by_user.cumcount(ascending=False)
    return from_end < np.floor(sizes * config.holdout_fraction)


def _relevant(test: pd.DataFrame, config: SplitConfig) -> pd.Series:
    if config.rating_threshold == 0:
        return pd.Series(True, index=test.index)
    not_disliked = test["disliked"] == 0
    if "rating" in test:
        rated = test["rating"].notna()
        by_rating = rated & (test["rating"] >= config.rating_threshold)
        by_confidence = ~rated & (test["confidence"] >= config.min_confidence)
        return not_disliked & (by_rating | by_confidence)
    return not_disliked & (test["confidence"] >= config.min_confidence)
