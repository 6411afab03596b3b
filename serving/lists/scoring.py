"""Scoring a user now: their whole current history against the served version's item side.

For users with events newer than the published model (or new users with some). The ranking
is cached until the user's next event or the next version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recsys import tracing
from recsys.foldin.new_items import quantile_scores
from recsys.foldin.second_stage import Pairs, SecondStage
from serving.held.catalogue_view import Catalogue
from serving.held.snapshot import Snapshot
from serving.lists.history import History
from serving.state import ServingState

POOL = 300  # candidates a fold-in keeps: room for filters and diversity to choose from


@dataclass(frozen=True)
class Ranked:
    """A scored list: where it came from, item ids best first, and their scores."""

    source: str  # "fold_in" or "trending"
    item_ids: np.ndarray
    scores: np.ndarray


def fold_in(
    state: ServingState, snapshot: Snapshot, user_id: str, history: History, stamp: int
) -> Ranked:
    """Score the user's whole current history against the published item side (cached)."""
    key = (snapshot.model_version, stamp, state.catalogue_generation)
    cached = state.fold_ins.get(user_id, key)
    if cached is not None:
        return cached
    with tracing.span(
        "fold-in",
        **{"recsys.algorithm": snapshot.algorithm, "recsys.history": len(history.item_ids)},
    ):
        ranked = _fold_in(state, snapshot, history)
    state.fold_ins.put(user_id, key, ranked)
    return ranked


def _fold_in(state: ServingState, snapshot: Snapshot, history: History) -> Ranked:
    model = snapshot.fold_in
    assert model is not None
    columns, known = model.columns(history.item_ids)
    confidences = history.confidences[known]
    if snapshot.second_stage is not None:  # both stages now (the ranker: retrievers, booster)
        two_stage = _two_stage(snapshot.second_stage, history, columns, known)
        if two_stage is not None:
            return two_stage
    scores = model.scores(columns, confidences)
    if scores is None:  # nothing positive the model knows: trending minus what they touched
        seen = history.seen
        kept = [(i, s) for i, s in snapshot.trending if i not in seen][:POOL]
        return Ranked(
            "trending",
            np.array([i for i, _ in kept], dtype=object),
            np.array([s for _, s in kept], dtype=np.float32),
        )
    scores[columns] = -np.inf  # seen and disliked items never come back
    return _best(snapshot, history, scores, columns, confidences)


def _two_stage(
    stage: SecondStage, history: History, columns: np.ndarray, known: np.ndarray
) -> Ranked | None:
    """The second stage's list for the history (None: nothing positive the version knows).
    `columns` of the `known` history items: the version's item order, which the bundle shares."""
    if not (history.confidences[known] > 0).any():
        return None
    pairs = Pairs(
        columns=columns,
        confidences=history.confidences[known].astype(np.float64),
        disliked=history.disliked[known],
        last_at=history.last_at[known],
        ratings=history.ratings[known],
    )
    columns, scores = stage.rank(pairs, time.time(), POOL)
    return Ranked("fold_in", stage.item_ids[columns], scores)


def _best(
    snapshot: Snapshot,
    history: History,
    scores: np.ndarray,
    columns: np.ndarray,
    confidences: np.ndarray,
) -> Ranked:
    """The POOL best of the version's items and, placed by content (`recsys.foldin.new_items`),
    of the items it lacks."""
    model = snapshot.fold_in
    assert model is not None
    item_ids = model.items.item_ids
    new = snapshot.new_items
    if len(new):
        profile = model.content_profile(columns, confidences)
        placed = quantile_scores(scores, model.content.scores_of(profile), new.vectors @ profile)
        unseen = np.array([i not in history.seen for i in new.item_ids], dtype=bool)
        item_ids = np.concatenate([item_ids, new.item_ids[unseen]])
        scores = np.concatenate([scores, placed[unseen]])
    best = _top(scores, POOL)
    return Ranked("fold_in", item_ids[best], scores[best])


def content_similarity(
    snapshot: Snapshot, catalogue: Catalogue
) -> Callable[[list[str]], np.ndarray]:
    """Pairwise similarity in [0, 1] for diversity: TF-IDF cosine of the served version's
    content vectors, genre overlap (Jaccard) where an item has none."""

    def similarity(item_ids: list[str]) -> np.ndarray:
        model = snapshot.fold_in
        if model is not None:
            columns = [model.column_of.get(i, -1) for i in item_ids]
            if all(c >= 0 for c in columns):
                vectors = model.items.content[columns]
                return np.clip((vectors @ vectors.T).toarray(), 0.0, 1.0)
        sets = [catalogue.genres_of(i) for i in item_ids]
        return np.array([[len(a & b) / len(a | b) if a | b else 0.0 for b in sets] for a in sets])

    return similarity


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k best finite scores, best first."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
