"""Which path serves a user's recommendations, and the list it gives.

- fold_in: the user has events newer than the published model (or is new and has some);
  their whole history is read from the warehouse (a primary-key read) and scored against the
  published item side (`serving.lists.scoring`).
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

from recsys.warehouse.faults import unavailable_reason
from serving.held.catalogue_view import Catalogue
from serving.held.snapshot import Snapshot
from serving.lists import filters, scoring
from serving.lists.explanations import add_lifts, explain
from serving.lists.filters import ItemFilter, Scored
from serving.lists.history import History, history_or_none, user_history
from serving.state import ServingState

log = logging.getLogger(__name__)

MAX_K = 100  # the most a request may ask for


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


def published_list_answers(stamp: int | None, options: ListOptions) -> bool:
    """The hot path: nothing new about the user, nothing asked beyond the top-k."""
    return stamp is None and options.plain


def served_from_memory(
    state: ServingState, snapshot: Snapshot, user_id: str, options: ListOptions
) -> bool:
    """True when answering needs no warehouse read (and so no worker thread)."""
    stamp = state.fresh.stamp(user_id)
    return snapshot.reads.in_memory and published_list_answers(stamp, options)


def recommend(
    state: ServingState,
    snapshot: Snapshot,
    catalogue: Catalogue,
    user_id: str,
    options: ListOptions,
) -> Served:
    stamp = state.fresh.stamp(user_id)
    withdrawn = catalogue.blocked()  # deleted, hidden, expired: never in any list
    if published_list_answers(stamp, options):  # a slice of a list, in memory by default
        personal = snapshot.reads.user_list(user_id)
        trending = ((i, s, "trending") for i, s in snapshot.trending)  # read only if needed
        if personal:
            label = snapshot.algorithm
            items = filters.available(personal, withdrawn, options.k, label)
            if len(items) < min(options.k, len(personal)):  # withdrawn items left gaps
                unwanted = state.fresh.items_of(user_id)
                items = filters.top_up(
                    items, options.k, trending, options.item_filter, catalogue.genres_of,
                    unwanted, withdrawn,
                )  # fmt: skip
            return Served("precomputed", items)
        return Served("trending", filters.available(snapshot.trending, withdrawn, options.k))
    history: History | None = None
    busy = False
    source, ranked = None, []
    if stamp is not None and snapshot.fold_in is not None:
        try:
            history = user_history(state, snapshot, user_id, stamp)
        except Exception as error:
            reason = unavailable_reason(error)
            if reason is None:
                raise
            log.warning("fold-in for %r skipped: %s", user_id, reason)
            busy = True
        else:
            folded = scoring.fold_in(state, snapshot, user_id, history, stamp)
            source = folded.source
            label = snapshot.algorithm if source == "fold_in" else "trending"
            ranked = [
                (str(i), float(s), label)
                for i, s in zip(folded.item_ids, folded.scores, strict=True)
            ]
    if source is None:
        personal = snapshot.reads.user_list(user_id)
        source = "precomputed" if personal else "trending"
        label = snapshot.algorithm if personal else "trending"
        ranked = [(i, s, label) for i, s in (personal or snapshot.trending)]
    if options.plain and history is None:
        just_seen = state.fresh.items_of(user_id)
        items = [e for e in ranked if e[0] not in just_seen and e[0] not in withdrawn]
        return Served(source, items[: options.k])

    if history is None and not busy and (source == "precomputed" or stamp is not None):
        history = history_or_none(state, snapshot, user_id, stamp)
    unwanted = history.seen if history is not None else state.fresh.items_of(user_id)
    genres_of = catalogue.genres_of
    candidates = filters.keep(ranked, options.item_filter, genres_of, unwanted, withdrawn)
    similarity = scoring.content_similarity(snapshot, catalogue)
    chosen = filters.mmr(candidates, options.k, options.diversity, similarity)
    trending = ((i, s, "trending") for i, s in snapshot.trending)
    items = filters.top_up(
        chosen, options.k, trending, options.item_filter, genres_of, unwanted, withdrawn
    )
    explanations = explain(snapshot, catalogue, history, items) if options.explain else None
    if explanations and source == "precomputed" and snapshot.explains_itself:
        add_lifts(explanations, items, snapshot.reads.user_lifts(user_id))
    return Served(source, items, explanations)
