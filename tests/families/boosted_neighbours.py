"""A small two-stage family defined outside the package, to prove that a family owns its
lifecycle: item-kNN retrieves candidates, a second stage re-ranks them by how popular each item
is. It has request-time data of its own (a bundle: the neighbourhoods and the popularity), a
second stage the API loads by the bundle's name, and lists that explain themselves (each slot's
lifts). Nothing in the assets or the routers knows it exists.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.foldin import FoldInParts, second_stage
from recsys.foldin.second_stage import Pairs, npz_arrays
from recsys.lifts import Lifts
from recsys.models.base import Recommender, sparse_arrays
from recsys.models.knn import ItemKNNRecommender
from recsys.models.lifecycle import TrackingReport
from recsys.models.matrix import InteractionMatrix
from recsys.training.families import Family

NAME = "boosted_neighbours"
FEATURES = ("neighbours", "popularity")


def rescored(neighbour_scores: np.ndarray, popularity: np.ndarray, boost: float) -> np.ndarray:
    """The second stage: each row's neighbour scores scaled to [0, 1], plus `boost` x the
    item's popularity share. Rows are users' candidates (columns of `popularity`)."""
    top = np.maximum(neighbour_scores.max(axis=-1, keepdims=True), 1e-12)
    return neighbour_scores / top + boost * popularity


class BoostedNeighbours(Recommender):
    name = NAME
    explains_itself = True

    def __init__(self, neighbours: int = 20, boost: float = 0.3, depth: int = 60) -> None:
        self.neighbours, self.boost, self.depth = neighbours, boost, depth
        self.retriever = ItemKNNRecommender(neighbours=neighbours)
        self.stage_calls: dict[str, int] = {}  # which lifecycle hooks the pipeline called

    def params(self) -> dict[str, Any]:
        return {"neighbours": self.neighbours, "boost": self.boost, "depth": self.depth}

    def _called(self, hook: str) -> None:
        self.stage_calls[hook] = self.stage_calls.get(hook, 0) + 1

    def fit(self, train: InteractionMatrix) -> BoostedNeighbours:
        self.train = train
        self.retriever.fit(train)
        counts = np.asarray((train.confidence > 0).sum(axis=0), dtype=np.float32).ravel()
        self.popularity = counts / max(float(counts.max()), 1.0)
        return self

    def fit_with_progress(self, train, progress_for) -> BoostedNeighbours:
        self._called("fit_with_progress")
        step = progress_for("boosted fit", 2, "stages")
        self.fit(train)
        step(2)
        return self

    def attach_live(self, store, as_of) -> BoostedNeighbours:
        self._called("attach_live")
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        return rescored(self.retriever.scores(user_rows), self.popularity[None, :], self.boost)

    def recommend_explained(self, user_rows: np.ndarray, k: int):
        columns, first = self.retriever.retrieve(user_rows, self.depth)
        found = columns >= 0
        neighbour = np.where(found, first, 0.0).astype(np.float32)
        popularity = np.where(found, self.popularity[np.maximum(columns, 0)], 0.0)
        top = np.maximum(neighbour.max(axis=1, keepdims=True), 1e-12)
        parts = np.stack([neighbour / top, self.boost * popularity], axis=-1)  # rows x depth x 2
        total = np.where(found, parts.sum(axis=-1), -np.inf)
        order = np.argsort(-total, axis=1, kind="stable")[:, :k]
        columns = np.take_along_axis(columns, order, axis=1)
        scores = np.take_along_axis(total, order, axis=1).astype(np.float32)
        columns[~np.isfinite(scores)] = -1
        kept = np.argwhere(columns >= 0)
        contributions = np.take_along_axis(parts, order[..., None], axis=1)[kept[:, 0], kept[:, 1]]
        lifts = Lifts.of(list(FEATURES), columns.shape, kept[:, 0], kept[:, 1], contributions)
        return columns, np.where(columns >= 0, scores, 0.0).astype(np.float32), lifts

    def recommend(self, user_rows: np.ndarray, k: int):
        columns, scores, _ = self.recommend_explained(user_rows, k)
        return columns, scores

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        return self.retriever.item_similarity_rows(item_cols)

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        return {**self.retriever.artifact_arrays(), "popularity": self.popularity}

    def fold_in_parts(self) -> FoldInParts:
        return self.retriever.fold_in_parts()  # one stage when no second stage is loaded

    def tracking_report(self) -> TrackingReport:
        self._called("tracking_report")
        return TrackingReport(metrics={"boosted_items": float((self.popularity > 0).sum())})

    def serving_bundles(self, store) -> dict[str, bytes]:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            item_ids=np.asarray(self.train.item_ids, dtype=str),
            popularity=self.popularity,
            boost=np.array(self.boost),
            depth=np.array(self.depth),
            **sparse_arrays("similarity", self.retriever.item_similarity),
        )
        return {NAME: buffer.getvalue()}


class BoostedStage:
    """The second stage at request time, read from the version's bundle."""

    ranked = 0  # users this process ranked with it (the test's proof it was used)

    def __init__(self, data: bytes) -> None:
        arrays = npz_arrays(data)
        self.item_ids = arrays["item_ids"].astype(object)
        self.popularity = arrays["popularity"]
        self.boost = float(arrays["boost"])
        self.depth = int(arrays["depth"])
        self.similarity = sp.csr_matrix(
            (arrays["similarity_data"], arrays["similarity_indices"], arrays["similarity_indptr"]),
            shape=tuple(arrays["similarity_shape"]),
        )

    def rank(self, pairs: Pairs, as_of: float, k: int) -> tuple[np.ndarray, np.ndarray]:
        type(self).ranked += 1
        positive = pairs.confidences > 0
        neighbour = np.asarray(
            self.similarity[pairs.columns[positive]].T @ pairs.confidences[positive]
        ).ravel()
        scores = rescored(neighbour, self.popularity, self.boost).astype(np.float32)
        scores[pairs.columns] = -np.inf
        scores[neighbour <= 0] = -np.inf  # candidates are what the neighbourhoods reach
        order = np.argsort(-scores, kind="stable")[: min(k, self.depth)]
        order = order[np.isfinite(scores[order])]
        return order, scores[order]


FAMILY = Family(
    NAME,
    lambda params, options: BoostedNeighbours(**params),
    search=lambda trial: {
        "neighbours": trial.suggest_int("neighbours", 10, 50),
        "boost": trial.suggest_float("boost", 0.0, 1.0),
    },
    start=lambda options: {"neighbours": 20, "boost": 0.3},
    budget=0,  # searched only when a run's budget names it
    collaborative=True,
)


def load_stage(data: bytes) -> BoostedStage:
    return BoostedStage(data)


def register() -> None:
    from recsys.training import families

    families.register(FAMILY)
    second_stage.register(NAME, load_stage)


def unregister() -> None:
    from recsys.training import families

    families.unregister(NAME)
    second_stage.unregister(NAME)
