"""The model families, one record each: how to build one, what to search, where to start.

Selection, the run config (a trial budget per family name) and the refit loop over `FAMILIES`;
adding a family is a module in `recsys/models/` plus one record here (or `register` from
anywhere). A composite family
(the hybrid) is built on the best collaborative family the search found; the two-stage ranker
(`recsys.ranking`) on every retriever family's best, tuned by `recsys.ranking.tuning`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import optuna
import pandas as pd

from recsys.evaluation.split import SplitConfig
from recsys.foldin.blend import DEFAULT_COLLAB_WEIGHT, DEFAULT_MIN_INTERACTIONS
from recsys.models.als import ALSParams, ALSRecommender
from recsys.models.base import Recommender
from recsys.models.content import ContentRecommender
from recsys.models.ease import EASERecommender
from recsys.models.hybrid import HybridRecommender
from recsys.models.knn import ItemKNNRecommender
from recsys.models.popularity import PopularityRecommender
from recsys.ranking.recommender import RankerRecommender


@dataclass(frozen=True)
class BuildOptions:
    """What building a model needs besides its params: the catalogue and dataset limits."""

    items: pd.DataFrame = field(repr=False)
    ease_max_items: int = 15_000
    collab_weight: float = DEFAULT_COLLAB_WEIGHT
    min_interactions_for_collab: int = DEFAULT_MIN_INTERACTIONS
    split: SplitConfig = SplitConfig()  # the ranker learns labels by the evaluation's rule


@dataclass(frozen=True)
class Family:
    name: str
    build: Callable[[dict[str, Any], BuildOptions], Recommender]
    # The search space: params for one optuna trial. None: nothing to tune, one trial.
    search: Callable[[optuna.Trial], dict[str, Any]] | None = None
    # The first trial, so tuning can only match or improve on it.
    start: Callable[[BuildOptions], dict[str, Any]] = lambda options: {}
    budget: int = 1  # trials by default; 0 in a run's budget leaves the family out
    collaborative: bool = False  # learns from who did what: a base for composite families
    composite: bool = False  # built on the best collaborative family found
    two_stage: bool = False  # retrieves from the other families, then ranks (recsys.ranking)


def _als(params: dict[str, Any], options: BuildOptions) -> Recommender:
    weighting = params.get("weighting", "none")
    return ALSRecommender(
        ALSParams(**{k: v for k, v in params.items() if k != "weighting"}), weighting=weighting
    )


def _hybrid(params: dict[str, Any], options: BuildOptions) -> Recommender:
    base = {
        k.removeprefix("collaborative."): v
        for k, v in params.items()
        if k.startswith("collaborative.")
    }
    return HybridRecommender(
        build(params["collaborative"], base, options),
        ContentRecommender(options.items),
        collab_weight=params["collab_weight"],
        min_interactions=params["min_interactions"],
    )


def _ranker(params: dict[str, Any], options: BuildOptions) -> Recommender:
    settings = {k: params[k] for k in (*RANKER_SETTINGS, "trees") if k in params}
    return RankerRecommender(
        params["retrievers"],
        settings,
        partial(build, options=options),  # picklable: the model travels between steps
        split=options.split,
        depth=params.get("depth", 100),
        anchor=params.get("anchor", ""),
        max_training_users=int(params.get("max_training_users", 3_000)),
    )


RANKER_SETTINGS = ("learning_rate", "num_leaves", "min_child_samples", "feature_fraction")

# The registry, in search order (a composite after what it builds on). `register` adds to it.
FAMILIES: list[Family] = [
    Family(
        "als",
        _als,
        search=lambda trial: {
            "factors": trial.suggest_int("factors", 16, 128, log=True),
            "regularization": trial.suggest_float("regularization", 1e-3, 1.0, log=True),
            "iterations": trial.suggest_int("iterations", 8, 30),
            "alpha": trial.suggest_float("alpha", 0.5, 40.0, log=True),
            "weighting": trial.suggest_categorical("weighting", ["none", "bm25", "tfidf"]),
        },
        start=lambda options: {
            "factors": 64,
            "regularization": 0.05,
            "iterations": 15,
            "alpha": 1.0,
            "weighting": "none",
        },
        budget=12,
        collaborative=True,
    ),
    Family(
        "item_knn",
        lambda params, options: ItemKNNRecommender(**params),
        search=lambda trial: {
            "neighbours": trial.suggest_int("neighbours", 10, 400, log=True),
            "similarity": trial.suggest_categorical("similarity", ["cosine", "bm25"]),
        },
        start=lambda options: {"neighbours": 50, "similarity": "cosine"},
        budget=8,
        collaborative=True,
    ),
    Family(
        "ease",
        lambda params, options: EASERecommender(max_items=options.ease_max_items, **params),
        search=lambda trial: {
            "l2": trial.suggest_float("l2", 20.0, 3000.0, log=True),
            "binary": trial.suggest_categorical("binary", [True, False]),
        },
        start=lambda options: {"l2": 500.0, "binary": True},
        budget=5,
        collaborative=True,
    ),
    Family("content_tfidf", lambda params, options: ContentRecommender(options.items), budget=1),
    Family(
        "hybrid",
        _hybrid,
        search=lambda trial: {
            "collab_weight": trial.suggest_float("collab_weight", 0.5, 0.98),
            "min_interactions": trial.suggest_int("min_interactions", 1, 10),
        },
        start=lambda options: {
            "collab_weight": options.collab_weight,
            "min_interactions": options.min_interactions_for_collab,
        },
        budget=4,
        composite=True,
    ),
    Family(
        "ranker",
        _ranker,
        search=lambda trial: {
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.15, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 7, 63, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 100, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        },
        budget=4,
        composite=True,
        two_stage=True,
    ),
]
BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}
# Scored on every split as the baseline to beat; never searched or published.
POPULARITY = Family("popularity", lambda params, options: PopularityRecommender())


def register(new: Family) -> None:
    """Add a family defined outside this module (a plugin, a test): searched when a run's budget
    gives it trials, published, served and folded in like the built-in ones, through the hooks
    its models override (`recsys.models.lifecycle`)."""
    if new.name in BY_NAME or new.name == POPULARITY.name:
        raise ValueError(f"a model family called {new.name!r} is registered already")
    FAMILIES.append(new)
    BY_NAME[new.name] = new


def unregister(name: str) -> None:
    FAMILIES[:] = [f for f in FAMILIES if f.name != name]
    BY_NAME.pop(name, None)


def family(name: str) -> Family:
    if name == POPULARITY.name:
        return POPULARITY
    if name not in BY_NAME:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(BY_NAME)}")
    return BY_NAME[name]


def build(name: str, params: dict[str, Any], options: BuildOptions) -> Recommender:
    """A fresh, unfitted model of the family `name` with `params`."""
    return family(name).build(params, options)


def default_budget() -> dict[str, int]:
    return {f.name: f.budget for f in FAMILIES}
