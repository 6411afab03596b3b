"""The two-stage model: retrieve candidates from several families, rank them with LightGBM.

    fit(train):  pairs behind `train` ──temporal split──▶ inner past / inner future
                 retrievers fitted on the inner past ──▶ candidates of users with a future
                 features (SQL, as of each user's cut-off) + label (relevant in the future)
                 ──▶ booster (`trees` rounds, settings from tuning)
                 retrievers refitted on all of `train` (what lists are built from)
    serve_tested: the refit on all data keeps the booster selection scored on the test split
                 and refits only the retrievers (half the cost; labels a window older)
    recommend:   candidates ──features──▶ booster score ──▶ top K

It is a family like the others (`recsys.training.families`): its params say which retrievers with
which params, how deep, and the booster's settings, so refitting it on other data (the test
split, all data) repeats the same recipe. Features need the warehouse: `bind` a
`FeatureSource` over the pairs behind the matrix before `fit`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from recsys.evaluation.evaluate import prepare
from recsys.evaluation.split import SplitConfig, holdout_split
from recsys.foldin import FoldInParts
from recsys.lifts import Lifts
from recsys.models.base import Recommender
from recsys.models.lifecycle import TrackingReport
from recsys.models.matrix import InteractionMatrix
from recsys.ranking import bundle, learner
from recsys.ranking.candidates import (
    RECENT,
    Candidates,
    RecentNeighbours,
    candidate_features,
    rank_lists,
    recent_items,
)
from recsys.ranking.feature_source import FeatureSource, live, narrowed
from recsys.ranking.fitted import FittedModels

Builder = Callable[[str, dict[str, Any]], Recommender]
# Slots of each published list explained: the first five (pred_contrib costs ~100 µs an item).
EXPLAINED_SLOTS = 5
LAST_ITEMS = 5  # "recent neighbours" look at each user's last five items
SIMILARITY_FROM = ("item_knn", "ease", "als")  # the item-item model recent neighbours use


class RankerRecommender(Recommender):
    name = "ranker"
    explains_itself = True  # each slot's lifts, from the booster's contributions
    # Users scored at once per thread: 2,048 (about 550k candidates) was as fast as 4,096 at 1M
    # events on two threads and peaked 0.35 GB lower.
    recommend_block_size = 2048
    # Its scoring is mostly numpy and LightGBM, which release the GIL: a thread per core pays.
    preferred_workers = max(1, min(4, os.cpu_count() or 1))

    def __init__(
        self,
        retrievers: dict[str, dict[str, Any]],
        settings: dict[str, Any],
        build: Builder,
        split: SplitConfig | None = None,
        depth: int | dict[str, int] = 100,
        anchor: str = "",
        max_training_users: int = 3_000,
        seed: int = 42,
    ) -> None:
        if not retrievers:
            raise ValueError("the ranker needs at least one retriever family")
        self.retriever_params = retrievers
        self.settings = settings
        self.split = split or SplitConfig()
        # Candidates per retriever: one number for all, or per retriever name.
        self.depth = (
            depth if isinstance(depth, dict) else {RECENT: depth, **{n: depth for n in retrievers}}
        )
        # The retriever whose item side serves similar items and request-time fold-in.
        self.anchor = anchor or next(iter(retrievers))
        self.max_training_users = max_training_users
        self.seed = seed
        self._build = build
        self.source: FeatureSource | None = None
        self.as_of: datetime | None = None  # features of published lists are as of this
        self.booster = None
        self.booster_tested = False  # True: serving the booster selection scored (fit keeps it)
        self.fitted: dict[str, Recommender] = {}
        self.reusable: FittedModels | None = None  # retrievers fitted elsewhere (selection)

    def params(self) -> dict[str, Any]:
        return {
            "retrievers": self.retriever_params,
            "depth": self.depth,
            "anchor": self.anchor,
            "max_training_users": self.max_training_users,
            **self.settings,
        }

    def bind(self, source: FeatureSource) -> RankerRecommender:
        """Where features are computed: the warehouse and the pairs behind the next `fit`."""
        self.source = source
        return self

    def bind_features(self, source: FeatureSource | None) -> RankerRecommender:
        if source is None:
            raise ValueError("the ranker needs a warehouse to compute its features in")
        return self.bind(source)

    def attach_live(self, store: Any, as_of: datetime) -> RankerRecommender:
        """Features from the live `interactions` table of `store`, as of `as_of` (serving)."""
        self.as_of = as_of
        return self.bind(live(store, self.split, as_of))

    def reattach(self, store: Any) -> RankerRecommender:
        """The same live source in another step or process (a handle does not travel), with
        the features it already read as of `as_of`: the ones its lists must be scored with."""
        if self.as_of is None:
            raise ValueError("this ranker was never attached to a live warehouse")
        if self.source is not None and self.source.now == self.as_of:
            return self.bind(self.source.on(store))
        return self.attach_live(store, self.as_of)

    def fit(self, train: InteractionMatrix) -> RankerRecommender:
        source = self.feature_source()
        if not getattr(self, "booster_tested", False):
            self.booster = learner.train(self._labelled(train, source), self.settings, self.seed)
        self.train = train
        self.fitted = self.fit_retrievers(train, source)
        return self

    def tested_state(self) -> str:
        return self.booster.model_to_string()

    def adopt_tested(self, state: str) -> RankerRecommender:
        """Keep the booster selection scored on the test split: `fit` then refits only the
        retrievers. Its labels are a window older than a new booster's would be, but it is the
        very booster the champion rule measured, and the refit costs half as much."""
        if state:
            self.booster = learner.load(state)
            self.booster_tested = True
        return self

    def _labelled(self, train: InteractionMatrix, source: FeatureSource) -> learner.Labelled:
        reusable = getattr(self, "reusable", None)
        labelled = reusable.find_frame(self.recipe(), train) if reusable is not None else None
        if labelled is None:
            inner = holdout_split(source.pairs(), self.split)
            with narrowed(source, inner.train) as past:
                labelled = self.learning_frame(prepare(inner), past)
        return labelled

    def learning_frame(self, data, past: FeatureSource) -> learner.Labelled:
        """Labelled candidates of `data`'s training users: retrievers fitted on its train part
        (features from `past`), labels from its held-out part."""
        retrievers = self.fit_retrievers(data.train, past)
        users = self.training_users(data)
        return learner.training_frame(retrievers, data, past, self.depth, users)

    def recipe(self) -> dict[str, Any]:
        """What the learning frame depends on (not the booster's settings)."""
        return {
            "retrievers": self.retriever_params,
            "depth": self.depth,
            "max_training_users": self.max_training_users,
            "seed": self.seed,
            "split": self.split.describe(),
        }

    def fit_retrievers(
        self, train: InteractionMatrix, source: FeatureSource
    ) -> dict[str, Recommender]:
        """Every retriever fitted on `train`, recent neighbours last (it reuses a similarity)."""
        fitted = {
            name: self._retriever(name, params, train)
            for name, params in self.retriever_params.items()
        }
        similarity = next((fitted[n] for n in SIMILARITY_FROM if n in fitted), None)
        if similarity is not None:
            recent = recent_items(train, source.latest(LAST_ITEMS), LAST_ITEMS)
            fitted[RECENT] = RecentNeighbours(similarity, recent).fit(train)
        return fitted

    def reuse_fitted(self, fitted: FittedModels) -> RankerRecommender:
        """Take retrievers from `fitted` where it holds the same family and params fitted on
        the same matrix, rather than fitting them again."""
        self.reusable = fitted
        return self

    def _retriever(self, name: str, params: dict[str, Any], train: InteractionMatrix):
        reusable = getattr(self, "reusable", None)  # absent from rankers pickled before it
        found = reusable.find(name, params, train) if reusable is not None else None
        return found if found is not None else self._build(name, params).fit(train)

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        """Dense scores: the booster's for candidates, -inf elsewhere (never retrieved)."""
        candidates, values = self._scored(user_rows)
        dense = np.full((len(user_rows), self.train.shape[1]), -np.inf, np.float32)
        if len(candidates):
            slot = pd.Series(np.arange(len(user_rows)), index=user_rows)
            dense[slot[candidates.rows].to_numpy(), candidates.cols] = values
        return dense

    def recommend(self, user_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        candidates, values = self._scored(user_rows)
        return rank_lists(candidates.rows, candidates.cols, values, user_rows, k)

    def recommend_explained(
        self, user_rows: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, Lifts]:
        """Top k, and for each slot the features that lifted the item most (`pred_contrib`)."""
        candidates, values = self._scored(user_rows)
        cols, vals = rank_lists(candidates.rows, candidates.cols, values, user_rows, k)
        names = self.booster.feature_name()
        explained = cols[:, :EXPLAINED_SLOTS]
        i, j = np.nonzero(explained >= 0)
        if len(i) == 0:
            return cols, vals, Lifts.none(names, *cols.shape)
        at = candidates.find(np.asarray(user_rows)[i], explained[i, j])
        contributions = self.booster.predict(candidates.features[at], pred_contrib=True)[:, :-1]
        return cols, vals, Lifts.of(names, cols.shape, i, j, contributions)

    def _scored(self, user_rows: np.ndarray) -> tuple[Candidates, np.ndarray]:
        """The candidates of `user_rows` (features in the booster's order) and their scores."""
        candidates = candidate_features(
            self.fitted, self.train, self.feature_source(), user_rows, self.depth
        ).ordered(self.booster.feature_name())
        if len(candidates) == 0:
            return candidates, np.empty(0, np.float32)
        return candidates, self.booster.predict(candidates.features).astype(np.float32)

    def describe(self) -> dict[str, Any]:
        """What the fitted ranker is made of: retrievers, candidates each, feature importances."""
        return {
            "retrievers": sorted(self.fitted),
            "candidates": dict(self.depth),
            "trees": self.booster.num_trees(),
            "importances": learner.importances(self.booster),
        }

    def recall_models(self, family: str) -> dict[str, Recommender]:
        # Its own reach is its retrievers' union, each measured on its own; recent neighbours
        # exist only inside the ranker.
        return {RECENT: self.fitted[RECENT]} if RECENT in self.fitted else {}

    def tracking_report(self) -> TrackingReport:
        shares = learner.importances(self.booster)  # what the booster leans on, by total gain
        return TrackingReport(
            documents={"ranker/feature_importance.json": shares},
            metrics={f"importance_{name}": share for name, share in shares.items()},
        )

    def serving_bundles(self, store: Any) -> dict[str, bytes]:
        # Both stages at request time (fold-in): retrievers' item sides, features, booster.
        return {bundle.NAME: bundle.to_bytes(self.reattach(store))}

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return self.fitted[self.anchor].item_similarity_rows(item_cols)

    def similar(self, item_cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # The anchor's own neighbours (ALS has a top-K path that never builds dense rows).
        return self.fitted[self.anchor].similar(item_cols, k)

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        arrays = dict(self.fitted[self.anchor].artifact_arrays())
        arrays["ranker_booster"] = np.array(self.booster.model_to_string())
        return arrays

    def fold_in_parts(self) -> FoldInParts:
        # Request-time fold-in scores a fresh user with the anchor's item side.
        return self.fitted[self.anchor].fold_in_parts()

    @property
    def parallel_safe(self) -> bool:
        """Lists can be scored on several threads once the source's tables are in memory
        (`prepare_scoring`): scoring then reads nothing from the warehouse."""
        return self.source is not None

    def prepare_scoring(self) -> None:
        self.feature_source().positions(self.train.user_ids, self.train.item_ids)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["reusable"] = None  # selection's models stay with selection
        # A warehouse handle does not travel between processes (the IO manager's pickles);
        # features as of now do.
        source = self.source
        state["source"] = source.detached() if source is not None and source.now else None
        return state

    def feature_source(self) -> FeatureSource:
        """Where this ranker's features are computed (bound before fit)."""
        if self.source is None:
            raise ValueError(
                "the ranker computes its features in the warehouse: bind a FeatureSource first"
            )
        return self.source

    def training_users(self, data) -> np.ndarray:
        """The users whose candidates the booster learns from: at most max_training_users."""
        rows = data.users
        if len(rows) <= self.max_training_users:
            return rows
        rng = np.random.default_rng(self.seed)
        return np.sort(rng.choice(rows, self.max_training_users, replace=False))
