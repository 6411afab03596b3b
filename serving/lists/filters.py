"""Plain list operations the endpoints share: filters, diversity (MMR) and the trending top-up."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

Scored = tuple[str, float, str]  # (item_id, score, what scored it)


@dataclass(frozen=True)
class ItemFilter:
    """Keep items with any of `genres` (if given), none of `exclude_genres`, not in `exclude_ids`.

    Genres compare case-insensitively.
    """

    genres: frozenset[str] = frozenset()
    exclude_genres: frozenset[str] = frozenset()
    exclude_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def active(self) -> bool:
        return bool(self.genres or self.exclude_genres or self.exclude_ids)

    def allows(self, item_id: str, genres_of: Callable[[str], frozenset[str]]) -> bool:
        if item_id in self.exclude_ids:
            return False
        if not (self.genres or self.exclude_genres):
            return True
        genres = genres_of(item_id)
        if self.genres and not genres & self.genres:
            return False
        return not genres & self.exclude_genres


def keep(
    ranked: Iterable[Scored],
    item_filter: ItemFilter,
    genres_of: Callable[[str], frozenset[str]],
    unwanted: frozenset[str] = frozenset(),
    withdrawn: frozenset[str] = frozenset(),
) -> list[Scored]:
    """The ranked items that pass the filter, are not `unwanted` (seen, disliked...) and not
    `withdrawn` from the catalogue (deleted, hidden, expired)."""
    return [
        entry
        for entry in ranked
        if entry[0] not in unwanted
        and entry[0] not in withdrawn
        and item_filter.allows(entry[0], genres_of)
    ]


def available(
    ranked: Sequence[tuple[str, float]], withdrawn: frozenset[str], k: int, label: str = "trending"
) -> list[Scored]:
    """The first k (item, score) entries not withdrawn from the catalogue, labelled."""
    kept: list[Scored] = []
    for item_id, score in ranked if withdrawn else ranked[:k]:
        if item_id not in withdrawn:
            kept.append((item_id, score, label))
            if len(kept) == k:
                break
    return kept


def top_up(
    chosen: list[Scored],
    k: int,
    fallback: Iterable[Scored],
    item_filter: ItemFilter,
    genres_of: Callable[[str], frozenset[str]],
    unwanted: frozenset[str] = frozenset(),
    withdrawn: frozenset[str] = frozenset(),
) -> list[Scored]:
    """Fill `chosen` up to k from `fallback` (trending), skipping what is there, unwanted or
    withdrawn."""
    if len(chosen) >= k:
        return chosen[:k]
    taken = {entry[0] for entry in chosen} | unwanted
    fresh = (e for e in fallback if e[0] not in taken)
    extra = keep(fresh, item_filter, genres_of, withdrawn=withdrawn)
    return chosen + extra[: k - len(chosen)]


def mmr(
    candidates: Sequence[Scored],
    k: int,
    relevance_weight: float,
    similarity: Callable[[list[str]], np.ndarray],
) -> list[Scored]:
    """Maximal marginal relevance: each pick maximises
    `w * relevance - (1 - w) * max similarity to the items already picked`.

    Relevance is the score scaled to [0, 1] over the candidates; `similarity(ids)` returns the
    ids' pairwise similarity matrix in [0, 1]. w = 1 keeps the ranking as it is.
    """
    if relevance_weight >= 1.0 or len(candidates) <= 1:
        return list(candidates[:k])
    scores = np.array([entry[1] for entry in candidates], dtype=np.float64)
    span = scores.max() - scores.min()
    relevance = (scores - scores.min()) / span if span > 0 else np.ones_like(scores)
    pairwise = similarity([entry[0] for entry in candidates])
    picked: list[int] = [int(np.argmax(relevance))]
    closest = pairwise[picked[0]].copy()
    available = np.ones(len(candidates), dtype=bool)
    available[picked[0]] = False
    while len(picked) < min(k, len(candidates)):
        value = relevance_weight * relevance - (1 - relevance_weight) * closest
        value[~available] = -np.inf
        best = int(np.argmax(value))
        picked.append(best)
        available[best] = False
        closest = np.maximum(closest, pairwise[best])
    return [candidates[i] for i in picked]
