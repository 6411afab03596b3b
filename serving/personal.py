"""Which path serves a user's recommendations, and the request-time fold-in itself.

- fold_in: the user has events newer than the published model (or is brand new and has some);
  their whole history is read from the warehouse (a primary-key read) and scored against the
  published item side. Cached until the user's next event or the next version.
- precomputed: the published top-K list, minus items this process saw the user touch since.
- trending: the fallback for users with nothing personal.

If the warehouse cannot be read in time (the embedded engine is busy with a long write), a
fresh user is served the precomputed or trending list without the items we know they touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys.warehouse import tables
from recsys.warehouse.lock import WarehouseBusyError
from serving.freshness import Ranked
from serving.snapshot import Snapshot
from serving.state import ServingState

log = logging.getLogger(__name__)

MAX_K = 100  # the most a request may ask for; a fold-in ranks this many once and caches them


@dataclass(frozen=True)
class Served:
    source: str  # "precomputed" | "fold_in" | "trending"
    items: list[tuple[str, float, str]]  # (item_id, score, what scored it)


def recommend(state: ServingState, snapshot: Snapshot, user_id: str, k: int) -> Served:
    generation = state.fresh.generation(user_id)
    if generation is not None and snapshot.fold_in is not None:
        try:
            ranked = _fold_in_cached(state, snapshot, user_id, generation)
        except WarehouseBusyError:
            log.warning("fold-in for %s skipped: the warehouse is busy", user_id)
        else:
            per_item = snapshot.algorithm if ranked.source == "fold_in" else "trending"
            items = [
                (str(item_id), float(score), per_item)
                for item_id, score in zip(ranked.item_ids[:k], ranked.scores[:k], strict=True)
            ]
            return Served(ranked.source, items)
    just_seen = state.fresh.items_of(user_id)
    personal = snapshot.recommendations.get(user_id)
    source, ranked_list = ("precomputed", personal) if personal else ("trending", snapshot.trending)
    per_item = snapshot.algorithm if personal else "trending"
    items = [(i, s, per_item) for i, s in ranked_list if i not in just_seen][:k]
    return Served(source, items)


def _fold_in_cached(
    state: ServingState, snapshot: Snapshot, user_id: str, generation: int
) -> Ranked:
    cached = state.fold_ins.get(snapshot.model_version, user_id, generation)
    if cached is not None:
        return cached
    ranked = fold_in(state, snapshot, user_id)
    state.fold_ins.put(snapshot.model_version, user_id, generation, ranked)
    return ranked


def fold_in(state: ServingState, snapshot: Snapshot, user_id: str) -> Ranked:
    """Score the user's whole current history against the published item side."""
    model = snapshot.fold_in
    assert model is not None
    spec = model.spec
    reference = pd.Timestamp(spec.decay_reference) if spec.decay_reference else None
    with state.warehouse.session(timeout=state.settings.fold_in_timeout_seconds) as client:
        history = tables.user_interactions(
            client, user_id, spec.event_weights, spec.decay_half_life_days, reference
        )
    columns, known = model.columns(history["item_id"])
    scores = model.scores(columns, history["confidence"].to_numpy()[known])
    if scores is None:  # nothing positive the model knows: trending minus what they touched
        touched = set(history["item_id"])
        kept = [(i, s) for i, s in snapshot.trending if i not in touched][:MAX_K]
        return Ranked(
            "trending",
            np.array([i for i, _ in kept], dtype=object),
            np.array([s for _, s in kept], dtype=np.float32),
        )
    scores[columns] = -np.inf  # seen and disliked items never come back
    best = _top(scores, MAX_K)
    return Ranked("fold_in", model.items.item_ids[best], scores[best])


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k best finite scores, best first."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
