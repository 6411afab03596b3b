"""Tuning the ranker inside model selection, within its trial budget like any family.

The retrievers are the other families at their best tuned params, fitted on the validation
split's train part; their candidates for the validation users are labelled by the validation
future once. Each trial then only trains a booster: on three quarters of those users, stopped
early and scored on the last quarter (NDCG@10 against all their relevant items, so retrieval
misses count against it), which is the figure the champion rule compares.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import optuna
import pandas as pd

from recsys.evaluation.evaluate import EvaluationData
from recsys.evaluation.publication import OBJECTIVE
from recsys.evaluation.selection_results import FamilyResult, Trial
from recsys.evaluation.split import SplitConfig
from recsys.ranking import learner
from recsys.ranking.feature_source import staged
from recsys.ranking.recommender import RankerRecommender

RETRIEVER_FAMILIES = ("ease", "als", "item_knn", "content_tfidf")
CHECK_SHARE = 0.25


def retriever_params(best: dict[str, tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    """Ranker params from the families' best (validation score, params): the retrievers with
    their params (popularity always), and the anchor (the best collaborative one)."""
    retrievers = {name: params for name, (_, params) in best.items() if name in RETRIEVER_FAMILIES}
    retrievers["popularity"] = {}
    collaborative = {n: s for n, (s, _) in best.items() if n in ("ease", "als", "item_knn")}
    anchor = max(collaborative, key=collaborative.get) if collaborative else "popularity"
    return {"retrievers": retrievers, "anchor": anchor}


def tune(
    ranker: RankerRecommender,
    n_trials: int,
    data: EvaluationData,
    past_pairs: pd.DataFrame,
    items: pd.DataFrame,
    split: SplitConfig,
    store: Any,
    search: Callable[[optuna.Trial], dict[str, Any]],
    seed: int,
    on_trial: Callable[[dict[str, Any], float, float], None],
) -> tuple[dict[str, Any], float] | None:
    """The best ranker params and its validation NDCG@10 (None: no user to learn from)."""
    with staged(store, past_pairs, items, split) as past:
        labelled = ranker.learning_frame(data, past)
    if ranker.reusable is not None:  # the ranker's fit on the test split repeats this split
        ranker.reusable.add_frame(ranker.recipe(), labelled)
    rows = np.array(sorted(labelled.relevant))
    if len(rows) < 8 or labelled.frame["label"].sum() == 0:
        return None
    shuffled = np.random.default_rng(seed).permutation(rows)
    n_check = max(2, int(len(rows) * CHECK_SHARE))
    check, learn = labelled.part(shuffled[:n_check]), labelled.part(shuffled[n_check:])
    tried: list[tuple[dict[str, Any], float]] = []

    def run(trial: optuna.Trial) -> float:
        settings = search(trial)
        started = time.perf_counter()
        booster = learner.train(learn, settings, seed, stop_on=check)
        features = check.frame[booster.feature_name()].to_numpy(np.float32)
        score = learner.ndcg(check, booster.predict(features, num_iteration=booster.best_iteration))
        params = {**ranker.params(), **settings, "trees": max(1, booster.best_iteration)}
        tried.append((params, score))
        on_trial(params, score, time.perf_counter() - started)
        return score

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(dict(learner.START))
    study.optimize(run, n_trials=max(1, n_trials))
    return max(tried, key=lambda t: t[1])


def tune_family(
    family, build, n_trials, data, past_pairs, items, config, results, feature_store, on_trial
) -> FamilyResult:
    """The two-stage family: retrievers are the other families' best (`recsys.ranking`);
    `build(params)` makes a ranker of them."""
    if feature_store is None:
        return FamilyResult(family.name, None, skipped="needs a warehouse to compute features in")
    best = {f: (r.best.metrics[OBJECTIVE], r.best.params) for f, r in results.items() if r.best}
    ranker = build(retriever_params(best))

    def report(params: dict[str, Any], score: float, seconds: float) -> None:
        if on_trial:
            on_trial(Trial(family.name, params, {OBJECTIVE: score}, seconds))

    found = tune(
        ranker,
        n_trials,
        data,
        past_pairs,
        items,
        config.split,
        feature_store,
        family.search,
        config.seed,
        report,
    )
    if found is None:
        return FamilyResult(family.name, None, skipped="too few validation users to learn from")
    params, score = found
    return FamilyResult(family.name, Trial(family.name, params, {OBJECTIVE: score}, 0.0))
