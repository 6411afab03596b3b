"""Which path serves a user's recommendations, the request-time fold-in, and explanations.

- fold_in: the user has events newer than the published model (or is new and has some);
  their whole history is read from the warehouse (a primary-key read) and scored against the
  published item side. Cached until the user's next event or the next version.
- precomputed: the published top-K list.
- trending: the fallback for users with nothing personal.

Filters, diversity (MMR) and explanations apply to whichever list served; when filters leave
fewer than k, trending tops the list up. Consumed and disliked items never come back. If the
warehouse cannot be read in time (the embedded engine busy with a long write), a fresh user is
served the precomputed or trending list without the items we know they touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import user_reads
from recsys.warehouse.faults import unavailable_reason
from serving import filters
from serving.filters import ItemFilter, Scored
from serving.freshness import History, Ranked
from serving.snapshot import Snapshot
from serving.state import ServingState

log = logging.getLogger(__name__)

MAX_K = 100  # the most a request may ask for
POOL = 300  # candidates a fold-in keeps: room for filters and diversity to choose from
EXPLAINED_ITEMS = 3  # the user's items named per explained recommendation
# An explanation names what the user did with the item that weighed most in their history.
BECAUSE = {
    "like": "because you liked {}",
    "view_complete": "because you watched {}",
    "view_start": "because you started watching {}",
    "rating": "because you rated {}",
    "add_to_list": "because you added {} to your list",
    "search": "because you searched for {}",
}


@dataclass(frozen=True)
class ListOptions:
    k: int = 10
    item_filter: ItemFilter = field(default_factory=ItemFilter)
    diversity: float = 1.0  # MMR relevance weight: 1 keeps the ranking
    explain: bool = False

    @property
    def plain(self) -> bool:
        """Nothing beyond the top-k: the precomputed list answers from memory alone."""
        return not (self.item_filter.active or self.diversity < 1.0 or self.explain)


@dataclass(frozen=True)
class Served:
    source: str  # "precomputed" | "fold_in" | "trending"
    items: list[Scored]
    explanations: list[dict] | None = None


def served_from_memory(
    state: ServingState, snapshot: Snapshot, user_id: str, options: ListOptions
) -> bool:
    """True when answering needs no warehouse read (and so no worker thread)."""
    return snapshot.in_memory and options.plain and state.fresh.generation(user_id) is None


def recommend(
    state: ServingState, snapshot: Snapshot, user_id: str, options: ListOptions
) -> Served:
    generation = state.fresh.generation(user_id)
    if generation is None and options.plain:  # the hot path: a slice of a list in memory
        personal = snapshot.recommendations.get(user_id)
        if personal:
            label = snapshot.algorithm
            return Served("precomputed", [(i, s, label) for i, s in personal[: options.k]])
        return Served("trending", [(i, s, "trending") for i, s in snapshot.trending[: options.k]])
    history: History | None = None
    busy = False
    source, ranked = None, []
    if generation is not None and snapshot.fold_in is not None:
        try:
            history = user_history(state, snapshot, user_id, generation)
        except Exception as error:
            reason = unavailable_reason(error)
            if reason is None:
                raise
            log.warning("fold-in for %r skipped: %s", user_id, reason)
            busy = True
        else:
            folded = fold_in(snapshot, user_id, history, state, generation)
            source = folded.source
            label = snapshot.algorithm if source == "fold_in" else "trending"
            ranked = [
                (str(i), float(s), label)
                for i, s in zip(folded.item_ids, folded.scores, strict=True)
            ]
    if source is None:
        personal = snapshot.recommendations.get(user_id)
        source = "precomputed" if personal else "trending"
        label = snapshot.algorithm if personal else "trending"
        ranked = [(i, s, label) for i, s in (personal or snapshot.trending)]
    if options.plain and history is None:
        just_seen = state.fresh.items_of(user_id)
        items = [e for e in ranked if e[0] not in just_seen][: options.k]
        return Served(source, items)

    if history is None and not busy and (source == "precomputed" or generation is not None):
        history = _history_or_none(state, snapshot, user_id, generation)
    unwanted = history.seen if history is not None else state.fresh.items_of(user_id)
    candidates = filters.keep(ranked, options.item_filter, snapshot.genres_of, unwanted)
    chosen = filters.mmr(candidates, options.k, options.diversity, snapshot.similarity)
    trending = ((i, s, "trending") for i, s in snapshot.trending)
    items = filters.top_up(
        chosen, options.k, trending, options.item_filter, snapshot.genres_of, unwanted
    )
    explanations = explain(snapshot, history, items) if options.explain else None
    return Served(source, items, explanations)


def user_history(
    state: ServingState, snapshot: Snapshot, user_id: str, generation: int | None
) -> History:
    """The user's confidences per item, as training aggregates them (cached per generation)."""
    key = (snapshot.model_version, generation if generation is not None else -1)
    cached = state.histories.get(user_id, key)
    if cached is not None:
        return cached
    spec = snapshot.fold_in.spec if snapshot.fold_in else None
    # Versions published without a fold-in spec were trained with the default weights.
    weights = (spec.event_weights if spec else None) or DEFAULT_EVENT_WEIGHTS
    reference = pd.Timestamp(spec.decay_reference) if spec and spec.decay_reference else None
    with state.warehouse.session(timeout=state.settings.fold_in_timeout_seconds) as client:
        frame = user_reads.user_interactions(
            client,
            user_id,
            weights,
            state.settings.quality_epoch,
            spec.decay_half_life_days if spec else 0.0,
            reference,
        )
    history = History(
        item_ids=frame["item_id"].to_numpy(dtype=object),
        confidences=frame["confidence"].to_numpy(dtype=np.float32),
        disliked=frame["disliked"].to_numpy().astype(bool),
        strongest=frame["strongest"].to_numpy(dtype=object),
    )
    state.histories.put(user_id, key, history)
    return history


def fold_in(
    snapshot: Snapshot, user_id: str, history: History, state: ServingState, generation: int
) -> Ranked:
    """Score the user's whole current history against the published item side (cached)."""
    cached = state.fold_ins.get(user_id, (snapshot.model_version, generation))
    if cached is not None:
        return cached
    model = snapshot.fold_in
    assert model is not None
    columns, known = model.columns(history.item_ids)
    scores = model.scores(columns, history.confidences[known])
    if scores is None:  # nothing positive the model knows: trending minus what they touched
        seen = history.seen
        kept = [(i, s) for i, s in snapshot.trending if i not in seen][:POOL]
        ranked = Ranked(
            "trending",
            np.array([i for i, _ in kept], dtype=object),
            np.array([s for _, s in kept], dtype=np.float32),
        )
    else:
        scores[columns] = -np.inf  # seen and disliked items never come back
        best = _top(scores, POOL)
        ranked = Ranked("fold_in", model.items.item_ids[best], scores[best])
    state.fold_ins.put(user_id, (snapshot.model_version, generation), ranked)
    return ranked


def explain(snapshot: Snapshot, history: History | None, items: list[Scored]) -> list[dict]:
    """Per item: the user's items that contributed most (with shares) and a reason tag."""
    model = snapshot.fold_in
    shares = None
    positive = np.zeros(0, dtype=np.int64)
    if model is not None and history is not None:
        columns, known = model.columns(history.item_ids)
        confidences = history.confidences[known]
        positive = columns[confidences > 0]
        targets = [model.column_of.get(item_id, -1) for item_id, _, _ in items]
        valid = np.array([t >= 0 for t in targets], dtype=bool)
        shares = np.zeros((len(items), len(positive)))
        if valid.any() and len(positive):
            shares[valid] = model.contributions(columns, confidences, np.array(targets)[valid])
    liked_genres = (
        frozenset().union(*(snapshot.genres_of(i) for i in history.item_ids))
        if history is not None and len(history.item_ids)
        else frozenset()
    )
    explanations = []
    for row, (item_id, _, scored_by) in enumerate(items):
        because = []
        if shares is not None and scored_by != "trending" and len(positive):
            for column in np.argsort(-shares[row])[:EXPLAINED_ITEMS]:
                if shares[row, column] <= 0:
                    break
                source_id = str(model.items.item_ids[positive[column]])
                info = snapshot.catalogue.get(source_id)
                because.append(
                    {
                        "item_id": source_id,
                        "title": info.title if info else source_id,
                        "share": round(float(shares[row, column]), 4),
                    }
                )
        if scored_by == "trending":
            reason = "trending"
        elif because and because[0]["share"] >= 0.2:
            verb = history.verb_of(because[0]["item_id"]) if history is not None else None
            reason = BECAUSE.get(verb or "", "because you watched {}").format(because[0]["title"])
        elif snapshot.genres_of(item_id) & liked_genres:
            reason = "matches your genres"
        else:
            reason = "popular with people like you"
        explanations.append({"reason": reason, "because": because})
    return explanations


def _history_or_none(
    state: ServingState, snapshot: Snapshot, user_id: str, generation: int | None
) -> History | None:
    try:
        return user_history(state, snapshot, user_id, generation)
    except Exception as error:
        reason = unavailable_reason(error)
        if reason is None:
            raise
        log.warning("history of %r skipped: %s", user_id, reason)
        return None


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k best finite scores, best first."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
