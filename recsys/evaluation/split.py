"""Temporal holdout: train on the past, test on each user's most recent interactions.

Never a random split by default: a random split leaks the future into training and flatters
every model (see ../shared/NOTES.md). Works on the per-pair rows of the `interactions` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SplitConfig:
    holdout_fraction: float = 0.2
    mode: Literal["per_user", "global"] = "per_user"
    # Explicit ratings: a held-out pair is relevant when rated at least this many stars.
    rating_threshold: float = 4.0
    # Implicit pairs (no rating): relevant when their confidence reaches this (a completed view).
    min_confidence: float = 3.0


@dataclass
class TemporalSplit:
    train: pd.DataFrame
    test: pd.DataFrame  # held-out pairs, with a boolean `relevant` column


def temporal_split(pairs: pd.DataFrame, config: SplitConfig = SplitConfig()) -> TemporalSplit:
    """Split (user_id, item_id, confidence, disliked, last_at[, rating]) pairs by time."""
    if not 0 < config.holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {config.holdout_fraction}")
    ordered = pairs.sort_values(["user_id", "last_at", "item_id"], kind="stable")
    if config.mode == "per_user":
        from_end = ordered.groupby("user_id").cumcount(ascending=False)
        sizes = ordered.groupby("user_id")["item_id"].transform("size")
        held_out = from_end < np.floor(sizes * config.holdout_fraction)
    elif config.mode == "global":
        cutoff = ordered["last_at"].quantile(1 - config.holdout_fraction)
        held_out = ordered["last_at"] > cutoff
    else:
        raise ValueError(f"unknown split mode {config.mode!r}")
    train = ordered[~held_out].reset_index(drop=True)
    test = ordered[held_out].reset_index(drop=True)
    test = test.assign(relevant=_relevant(test, config))
    return TemporalSplit(train=train, test=test)


def _relevant(test: pd.DataFrame, config: SplitConfig) -> pd.Series:
    not_disliked = test["disliked"] == 0
    if "rating" in test:
        rated = test["rating"].notna()
        by_rating = rated & (test["rating"] >= config.rating_threshold)
        by_confidence = ~rated & (test["confidence"] >= config.min_confidence)
        return not_disliked & (by_rating | by_confidence)
    return not_disliked & (test["confidence"] >= config.min_confidence)
