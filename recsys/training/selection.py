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
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd

from recsys.evaluation.evaluate import EvaluationData, evaluate, prepare
from recsys.evaluation.publication import OBJECTIVE
from recsys.evaluation.retrieval import candidate_recall, relevant_retrieved
from recsys.evaluation.selection_results import FamilyResult, Selection, Trial
from recsys.evaluation.split import SplitConfig, holdout_split
from recsys.foldin.blend import DEFAULT_COLLAB_WEIGHT, DEFAULT_MIN_INTERACTIONS
from recsys.models.base import Recommender
from recsys.models.ease import CatalogueTooLargeError
from recsys.models.popularity import PopularityRecommender
from recsys.ranking import tuning as ranker_tuning
from recsys.ranking.candidates import RECENT
from recsys.ranking.feature_source import staged
from recsys.ranking.fitted import FittedModels
from recsys.training import families
from recsys.training.families import FAMILIES, BuildOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SelectionConfig:
    """Trials per family name (see `recsys.training.families`; a family left out or at 0 is not
    searched), the split, the limits models are built with, and the search's seed."""

    budget: dict[str, int] = field(default_factory=families.default_budget)
    split: SplitConfig = SplitConfig()
    ease_max_items: int = 15_000
    collab_weight: float = DEFAULT_COLLAB_WEIGHT
    min_interactions_for_collab: int = DEFAULT_MIN_INTERACTIONS
    seed: int = 42
    retrieval_n: int = 100  # candidates per family for the candidate-recall report (0: none)
    # The ranker's candidates per retriever; others contribute retrieval_n (or 100).
    ranker_candidates: dict[str, int] = field(default_factory=dict)
    # Test users scored at most (a fixed sample): every family on the same ones.
    max_test_users: int = 10_000

    def __post_init__(self) -> None:
        unknown = sorted(set(self.budget) - set(families.BY_NAME))
        if unknown:
            raise ValueError(
                f"budget names unknown model families {unknown}; known: {list(families.BY_NAME)}"
            )

    def ranker_depth(self, params: dict[str, Any]) -> dict[str, int]:
        """Candidates the ranker takes from each of its retrievers (and recent neighbours)."""
        default = self.retrieval_n or 100
        names = [*params["retrievers"], RECENT]
        return {name: int(self.ranker_candidates.get(name, default)) for name in names}

    def options(self, items: pd.DataFrame) -> BuildOptions:
        return BuildOptions(
            items=items,
            ease_max_items=self.ease_max_items,
            collab_weight=self.collab_weight,
            min_interactions_for_collab=self.min_interactions_for_collab,
            split=self.split,
        )


def build_model(
    family: str, params: dict[str, Any], items: pd.DataFrame, config: SelectionConfig
) -> Recommender:
    """A fresh model of `family` with `params`, built with this selection's limits."""
    return families.build(family, params, config.options(items))


def _suggest(family: families.Family, trial: optuna.Trial, base: FamilyResult | None) -> dict:
    params = family.search(trial) if family.search else {}
    if family.composite:  # built on the best collaborative family found
        assert base is not None and base.best is not None
        params = {
            "collaborative": base.family,
            **{f"collaborative.{k}": v for k, v in base.best.params.items()},
            **params,
        }
    return params


def select(
    pairs: pd.DataFrame,
    items: pd.DataFrame,
    config: SelectionConfig = SelectionConfig(),
    on_trial: Callable[[Trial], None] | None = None,
    incumbent: tuple[str, dict[str, Any]] | None = None,
    feature_store: Any = None,
) -> Selection:
    """Tune each family on a validation split, score the winners on the test split.

    `incumbent` (family, params) of the published model is refitted and scored on the same test
    split, so that the retrained model is compared with it on equal terms. `feature_store` (a
    warehouse) is where the two-stage ranker computes its features; without one it is skipped.
    """
    with ExitStack() as scratch:
        return _select(pairs, items, config, on_trial, incumbent, feature_store, scratch)


def _select(pairs, items, config, on_trial, incumbent, feature_store, scratch) -> Selection:
    outer = holdout_split(pairs, config.split)
    test_data = prepare(outer, items).sample(config.max_test_users)
    inner = holdout_split(outer.train.drop(columns="relevant", errors="ignore"), config.split)
    validation_data = prepare(inner, items)

    baseline_validation = _score(PopularityRecommender(), validation_data)
    # Retrievers (same family, params and matrix) and the training frame of the split a ranker's
    # fit on the test split's train part repeats: taken as they are, if a ranker runs.
    fitted = None
    if any(families.family(f).two_stage for f in config.budget):
        fitted = FittedModels(split_of=test_data.train)
    per_user: dict[str, dict[int, float]] = {"popularity": {}}
    baseline_test = _score(PopularityRecommender(), test_data, per_user=per_user["popularity"])
    results: dict[str, FamilyResult] = {}
    for family in FAMILIES:
        trials = config.budget.get(family.name, 0)
        if trials <= 0:
            continue
        base = _best_collaborative(results)
        if family.composite and base is None:
            results[family.name] = FamilyResult(
                family.name, None, skipped="no collaborative model to build on"
            )
            continue
        if family.two_stage:
            results[family.name] = ranker_tuning.tune_family(
                family,
                lambda params, name=family.name: _reusing(
                    build_model(
                        name, {**params, "depth": config.ranker_depth(params)}, items, config
                    ),
                    fitted,
                ),
                trials,
                validation_data,
                inner.train,
                items,
                config,
                results,
                feature_store,
                on_trial,
            )
            continue
        results[family.name] = _tune_family(
            family, trials, validation_data, items, config, base, on_trial, fitted
        )

    outer_source = None  # the test split's train pairs in the warehouse, staged once if needed
    if feature_store is not None and any(
        families.family(f).two_stage or (incumbent and incumbent[0] == f) for f in results
    ):
        outer_source = scratch.enter_context(
            staged(feature_store, outer.train, items, config.split)
        )
    retrieved = {}
    if config.retrieval_n:
        popularity = PopularityRecommender().fit(test_data.train)
        retrieved["popularity"] = relevant_retrieved(popularity, test_data, config.retrieval_n)
        _keep(fitted, "popularity", {}, popularity)
    for result in results.values():
        if result.best is None:
            continue
        model = _reusing(build_model(result.family, result.best.params, items, config), fitted)
        per_user[result.family] = {}
        result.test_metrics = _score(
            model, test_data, source=outer_source, per_user=per_user[result.family]
        )
        _keep(fitted, result.family, result.best.params, model)
        if config.retrieval_n:  # while the model is fitted on the test split's train part
            for name, reached in model.recall_models(result.family).items():
                retrieved[name] = relevant_retrieved(reached, test_data, config.retrieval_n)
        result.details = model.describe()
        result.tested_booster = model.tested_state()
    scored = {f: r for f, r in results.items() if r.best is not None}
    if not scored:
        raise ValueError("no model family could be trained on this data")
    champion = max(scored, key=lambda f: scored[f].best.metrics[OBJECTIVE])
    incumbent_test = None
    if incumbent is not None:
        try:
            incumbent_model = _reusing(build_model(*incumbent, items, config), fitted)
            incumbent_test = _score(incumbent_model, test_data, source=outer_source)
        except (ValueError, TypeError, KeyError) as error:  # e.g. a family renamed since
            log.warning("could not re-evaluate the published model %s: %s", incumbent, error)
    recall = candidate_recall(retrieved, test_data)
    return Selection(
        results, baseline_validation, baseline_test, champion, incumbent_test, recall, per_user
    )


def _tune_family(
    family: families.Family,
    n_trials: int,
    data: EvaluationData,
    items: pd.DataFrame,
    config: SelectionConfig,
    collaborative: FamilyResult | None,
    on_trial: Callable[[Trial], None] | None,
    fitted: FittedModels | None = None,
) -> FamilyResult:
    results: list[Trial] = []
    best_fit: list[tuple[Trial, Recommender]] = []  # the best trial and its model, for a ranker

    def objective(optuna_trial: optuna.Trial) -> float:
        params = _suggest(family, optuna_trial, collaborative)
        model = build_model(family.name, params, items, config)
        started = time.perf_counter()
        metrics = _score(model, data, full=False)
        trial = Trial(family.name, params, metrics, time.perf_counter() - started)
        score = metrics[OBJECTIVE]
        if math.isfinite(score) and (not best_fit or score > best_fit[0][0].metrics[OBJECTIVE]):
            best_fit[:] = [(trial, model)]
        results.append(trial)
        if on_trial:
            on_trial(trial)
        return metrics[OBJECTIVE]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    # The first trial is the family's starting point, so tuning can only match or improve on it.
    start = family.start(config.options(items))
    if start:
        study.enqueue_trial(start)
    try:
        study.optimize(objective, n_trials=max(1, n_trials) if family.search else 1)
    except CatalogueTooLargeError as error:
        log.info("skipping %s: %s", family.name, error)
        return FamilyResult(family.name, None, skipped=str(error))
    finite = [t for t in results if math.isfinite(t.metrics[OBJECTIVE])]
    best = max(finite, key=lambda t: t.metrics[OBJECTIVE]) if finite else None
    if best_fit and best_fit[0][0] is best:
        _keep(fitted, family.name, best.params, best_fit[0][1])
    return FamilyResult(family.name, best)


def _keep(fitted: FittedModels | None, family: str, params: dict, model: Recommender) -> None:
    """Hold on to a fitted retriever while a ranker may still take it."""
    if fitted is not None and family in (*ranker_tuning.RETRIEVER_FAMILIES, "popularity"):
        fitted.add(family, params, model)


def _reusing(model: Recommender, fitted: FittedModels | None) -> Recommender:
    return model.reuse_fitted(fitted) if fitted is not None else model


def _best_collaborative(results: dict[str, FamilyResult]) -> FamilyResult | None:
    candidates = [
        r for f, r in results.items() if families.family(f).collaborative and r.best is not None
    ]
    return max(candidates, key=lambda r: r.best.metrics[OBJECTIVE], default=None)


def _score(
    model: Recommender,
    data: EvaluationData,
    full: bool = True,
    source: Any = None,
    per_user: dict[int, float] | None = None,
) -> dict[str, float]:
    model.bind_features(source)
    model.fit(data.train)
    return evaluate(model, data, beyond_accuracy=full, per_user=per_user)
