"""The second stage: a LightGBM lambdarank model over candidates and their features.

Training data comes from a temporal split of the data the ranker is fitted on: retrievers fitted
on each user's past, candidates for users with relevant held-out items, label 1 for candidates
that were relevant. Users are split in two: the booster learns on one part and is stopped early
and scored on the other, so a trial's NDCG is measured on users it did not learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from recsys.evaluation import metrics
from recsys.models.base import Recommender
from recsys.ranking.candidates import candidate_features

START = {  # a prototype's fixed settings (NDCG@10 0.138-0.141 on ml-latest-small, seeds 0-2)
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 20,
    "feature_fraction": 0.8,
}
MAX_TREES = 600
EARLY_STOPPING = 40


@dataclass
class Labelled:
    """Candidates of the training users with their features, label and user group."""

    frame: pd.DataFrame  # columns: row, col, the feature columns, label
    feature_names: list[str]
    relevant: dict[int, frozenset[int]]  # row -> relevant item columns (retrieved or not)

    def part(self, rows: np.ndarray) -> Labelled:
        keep = self.frame["row"].isin(rows)
        wanted = set(rows.tolist())
        return Labelled(
            self.frame[keep],
            self.feature_names,
            {r: v for r, v in self.relevant.items() if r in wanted},
        )

    def dataset(self, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        ordered = self.frame.sort_values("row", kind="stable")
        groups = ordered.groupby("row", sort=True).size().to_numpy()
        return lgb.Dataset(
            ordered[self.feature_names].to_numpy(np.float32),
            label=ordered["label"].to_numpy(),
            group=groups,
            feature_name=self.feature_names,
            reference=reference,
            free_raw_data=False,
        )


def training_frame(
    retrievers: dict[str, Recommender],
    data,
    source,
    depth: dict[str, int],
    user_rows: np.ndarray,
) -> Labelled:
    """Labelled candidates of `user_rows` (users with relevant held-out items of `data`):
    `retrievers` fitted on its train part, features from `source` (a `FeatureSource`)."""
    candidates = candidate_features(retrievers, data.train, source, user_rows, depth)
    column = {item: col for col, item in enumerate(data.train.item_ids)}
    relevant = {
        int(row): frozenset(column[i] for i in data.relevant[int(row)] if i in column)
        for row in user_rows
    }
    width = len(data.train.item_ids)  # (row, col) as one integer key
    wanted = np.fromiter((r * width + c for r, cols in relevant.items() for c in cols), np.int64)
    labels = np.isin(candidates.rows.astype(np.int64) * width + candidates.cols, wanted)
    frame = pd.DataFrame(candidates.features, columns=candidates.names).assign(
        row=candidates.rows, col=candidates.cols, label=labels.astype(np.int32)
    )
    return Labelled(frame, candidates.names, relevant)


def booster_params(settings: dict[str, Any], seed: int) -> dict[str, Any]:
    return {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "learning_rate": float(settings["learning_rate"]),
        "num_leaves": int(settings["num_leaves"]),
        "min_child_samples": int(settings["min_child_samples"]),
        "feature_fraction": float(settings["feature_fraction"]),
        "feature_fraction_seed": seed,
        "seed": seed,
        "deterministic": True,
        "num_threads": 2,
        "verbosity": -1,
    }


def train(
    learn: Labelled, settings: dict[str, Any], seed: int, stop_on: Labelled | None = None
) -> lgb.Booster:
    """A booster on `learn`; with `stop_on`, at most MAX_TREES rounds stopped early on its NDCG
    (else exactly `settings['trees']` rounds, as tuning found)."""
    params = booster_params(settings, seed)
    train_set = learn.dataset()
    if stop_on is None:
        return lgb.train(params, train_set, num_boost_round=int(settings["trees"]))
    return lgb.train(
        params,
        train_set,
        num_boost_round=MAX_TREES,
        valid_sets=[stop_on.dataset(train_set)],
        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )


def load(text: str) -> lgb.Booster:
    """A booster from LightGBM's text form (`model_to_string`)."""
    return lgb.Booster(model_str=text)


def ndcg(scored: Labelled, scores: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k over the users of `scored`, against every relevant item (retrieved or not)."""
    frame = scored.frame.assign(score=scores).sort_values(
        ["row", "score"], ascending=[True, False], kind="stable"
    )
    lists = frame.groupby("row", sort=False)["col"].apply(lambda c: c.to_numpy()[:k].tolist())
    values = [
        metrics.ndcg_at_k(lists.get(row, []), wanted, k) for row, wanted in scored.relevant.items()
    ]
    return float(np.mean(values)) if values else 0.0


def importances(booster: lgb.Booster) -> dict[str, float]:
    """Total gain per feature, as shares that sum to 1."""
    gain = booster.feature_importance(importance_type="gain")
    total = float(gain.sum()) or 1.0
    return {name: float(g) / total for name, g in zip(booster.feature_name(), gain, strict=True)}
