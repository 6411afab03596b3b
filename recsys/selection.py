"""Choosing the model: a bounded search per family, champion by validation NDCG@10.

    train (outer) ──split again──▶ inner train / validation   ← each trial is scored here
    best params per family ──refit on outer train──▶ scored on the outer test (reported)
    champion = best validation NDCG@10; popularity is scored on the same splits

Families whose constraints a dataset breaks (EASE on a catalogue too large for its dense
inverse) are skipped with the reason recorded. The search is optuna's TPE sampler, seeded.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd

from recsys.evaluation.evaluate import EvaluationData, evaluate, prepare
from recsys.evaluation.split import SplitConfig, temporal_split
from recsys.models.als import ALSParams, ALSRecommender
from recsys.models.base import Recommender
from recsys.models.content import ContentRecommender
from recsys.models.ease import CatalogueTooLargeError, EASERecommender
from recsys.models.hybrid import HybridRecommender
from recsys.models.knn import ItemKNNRecommender
from recsys.models.popularity import PopularityRecommender

log = logging.getLogger(__name__)

OBJECTIVE = "ndcg_at_10"
DEFAULT_BUDGET = {"als": 12, "item_knn": 8, "ease": 5, "content_tfidf": 1, "hybrid": 4}


@dataclass(frozen=True)
class SelectionConfig:
    budget: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_BUDGET))
    split: SplitConfig = SplitConfig()
    ease_max_items: int = 15_000
    collab_weight: float = 0.7
    min_interactions_for_collab: int = 5
    seed: int = 42


@dataclass
class Trial:
    family: str
    params: dict[str, Any]
    metrics: dict[str, float]  # on the validation split
    fit_seconds: float


@dataclass
class FamilyResult:
    family: str
    best: Trial | None
    test_metrics: dict[str, float] = field(default_factory=dict)  # best params, outer test
    skipped: str = ""


@dataclass
class Selection:
    families: dict[str, FamilyResult]
    baseline_validation: dict[str, float]
    baseline_test: dict[str, float]
    champion: str
    incumbent_test: dict[str, float] | None = None  # the published model's config, same split

    @property
    def champion_result(self) -> FamilyResult:
        return self.families[self.champion]


def build_model(
    family: str,
    params: dict[str, Any],
    items: pd.DataFrame,
    config: SelectionConfig,
    families: dict[str, FamilyResult] | None = None,
) -> Recommender:
    """A fresh model of `family` with `params` (a hybrid uses the best collaborative family)."""
    if family == "als":
        weighting = params.get("weighting", "none")
        als = {k: v for k, v in params.items() if k != "weighting"}
        return ALSRecommender(ALSParams(**als), weighting=weighting)
    if family == "ease":
        return EASERecommender(max_items=config.ease_max_items, **params)
    if family == "item_knn":
        return ItemKNNRecommender(**params)
    if family == "content_tfidf":
        return ContentRecommender(items)
    if family == "popularity":
        return PopularityRecommender()
    if family == "hybrid":
        collab_family = params["collaborative"]
        collab_params = {
            k.removeprefix("collaborative."): v
            for k, v in params.items()
            if k.startswith("collaborative.")
        }
        return HybridRecommender(
            build_model(collab_family, collab_params, items, config),
            ContentRecommender(items),
            collab_weight=params["collab_weight"],
            min_interactions=params["min_interactions"],
        )
    raise ValueError(f"unknown model family {family!r}")


def _suggest(family: str, trial: optuna.Trial, collaborative: FamilyResult | None) -> dict:
    if family == "als":
        return {
            "factors": trial.suggest_int("factors", 16, 128, log=True),
            "regularization": trial.suggest_float("regularization", 1e-3, 1.0, log=True),
            "iterations": trial.suggest_int("iterations", 8, 30),
            "alpha": trial.suggest_float("alpha", 0.5, 40.0, log=True),
            "weighting": trial.suggest_categorical("weighting", ["none", "bm25", "tfidf"]),
        }
    if family == "ease":
        return {
            "l2": trial.suggest_float("l2", 20.0, 3000.0, log=True),
            "binary": trial.suggest_categorical("binary", [True, False]),
        }
    if family == "item_knn":
        return {
            "neighbours": trial.suggest_int("neighbours", 10, 400, log=True),
            "similarity": trial.suggest_categorical("similarity", ["cosine", "bm25"]),
        }
    if family == "hybrid":
        assert collaborative is not None and collaborative.best is not None
        return {
            "collaborative": collaborative.family,
            **{f"collaborative.{k}": v for k, v in collaborative.best.params.items()},
            "collab_weight": trial.suggest_float("collab_weight", 0.5, 0.98),
            "min_interactions": trial.suggest_int("min_interactions", 1, 10),
        }
    return {}


def select(
    pairs: pd.DataFrame,
    items: pd.DataFrame,
    config: SelectionConfig = SelectionConfig(),
    on_trial: Callable[[Trial], None] | None = None,
    incumbent: tuple[str, dict[str, Any]] | None = None,
) -> Selection:
    """Tune each family on a validation split, score the winners on the test split.

    `incumbent` (family, params) of the published model is refitted and scored on the same test
    split, so that a challenger is compared with it on equal terms.
    """
    outer = temporal_split(pairs, config.split)
    test_data = prepare(outer, items)
    inner = temporal_split(outer.train.drop(columns="relevant", errors="ignore"), config.split)
    validation_data = prepare(inner, items)

    baseline_validation = _score(PopularityRecommender(), validation_data)
    baseline_test = _score(PopularityRecommender(), test_data)
    families: dict[str, FamilyResult] = {}
    order = [
        f for f in ("als", "item_knn", "ease", "content_tfidf", "hybrid") if f in config.budget
    ]
    for family in order:
        trials = config.budget[family]
        collaborative = _best_collaborative(families)
        if family == "hybrid" and collaborative is None:
            families[family] = FamilyResult(family, None, skipped="no collaborative model to blend")
            continue
        families[family] = _tune_family(
            family, trials, validation_data, items, config, collaborative, on_trial
        )

    for result in families.values():
        if result.best is None:
            continue
        model = build_model(result.family, result.best.params, items, config)
        result.test_metrics = _score(model, test_data)
    scored = {f: r for f, r in families.items() if r.best is not None}
    if not scored:
        raise ValueError("no model family could be trained on this data")
    champion = max(scored, key=lambda f: scored[f].best.metrics[OBJECTIVE])
    incumbent_test = None
    if incumbent is not None:
        try:
            incumbent_test = _score(build_model(*incumbent, items, config), test_data)
        except (ValueError, TypeError, KeyError) as error:  # e.g. a family renamed since
            log.warning("could not re-evaluate the published model %s: %s", incumbent, error)
    return Selection(families, baseline_validation, baseline_test, champion, incumbent_test)


def challenger_decision(
    challenger: dict[str, float],
    incumbent: dict[str, float] | None,
    min_improve: float,
    metric: str = OBJECTIVE,
) -> tuple[bool, str]:
    """Publish the challenger? Only if it beats the incumbent by `min_improve` (or none exists)."""
    if incumbent is None:
        return True, "published as the first model (there was no earlier model to compare with)"
    new, old = challenger[metric], incumbent[metric]
    if new >= old + min_improve:
        return True, (
            f"published: {metric} {new:.4f} beats the previous model's {old:.4f} "
            f"(min_improve {min_improve})"
        )
    return False, (
        f"kept the published model: {metric} {new:.4f} does not beat its {old:.4f} "
        f"by min_improve {min_improve} on the same evaluation"
    )


def _tune_family(
    family: str,
    n_trials: int,
    data: EvaluationData,
    items: pd.DataFrame,
    config: SelectionConfig,
    collaborative: FamilyResult | None,
    on_trial: Callable[[Trial], None] | None,
) -> FamilyResult:
    results: list[Trial] = []

    def objective(optuna_trial: optuna.Trial) -> float:
        params = _suggest(family, optuna_trial, collaborative)
        model = build_model(family, params, items, config)
        started = time.perf_counter()
        metrics = _score(model, data, full=False)
        trial = Trial(family, params, metrics, time.perf_counter() - started)
        results.append(trial)
        if on_trial:
            on_trial(trial)
        return metrics[OBJECTIVE]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    # The first trial is the configured default, so tuning can only match or improve on it.
    defaults = _defaults(family, config)
    if defaults:
        study.enqueue_trial(defaults)
    try:
        study.optimize(objective, n_trials=max(1, n_trials) if family != "content_tfidf" else 1)
    except CatalogueTooLargeError as error:
        log.info("skipping %s: %s", family, error)
        return FamilyResult(family, None, skipped=str(error))
    finite = [t for t in results if math.isfinite(t.metrics[OBJECTIVE])]
    best = max(finite, key=lambda t: t.metrics[OBJECTIVE]) if finite else None
    return FamilyResult(family, best)


def _defaults(family: str, config: SelectionConfig) -> dict[str, Any]:
    return {
        "als": {
            "factors": 64,
            "regularization": 0.05,
            "iterations": 15,
            "alpha": 1.0,
            "weighting": "none",
        },
        "ease": {"l2": 500.0, "binary": True},
        "item_knn": {"neighbours": 50, "similarity": "cosine"},
        "hybrid": {
            "collab_weight": config.collab_weight,
            "min_interactions": config.min_interactions_for_collab,
        },
    }.get(family, {})


def _best_collaborative(families: dict[str, FamilyResult]) -> FamilyResult | None:
    candidates = [
        r for f, r in families.items() if f in ("als", "item_knn", "ease") and r.best is not None
    ]
    return max(candidates, key=lambda r: r.best.metrics[OBJECTIVE], default=None)


def _score(model: Recommender, data: EvaluationData, full: bool = True) -> dict[str, float]:
    model.fit(data.train)
    return evaluate(model, data, beyond_accuracy=full)
