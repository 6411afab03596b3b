"""Ranking metrics at K, as small pure functions over one user's list (Gorse-style).

`ranked` is the recommended item list, best first; `relevant` the set of held-out relevant
items. Every function returns a float in [0, 1] (novelty in bits) and is averaged over users
by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Set

import numpy as np


def precision_at_k(ranked: Sequence[str], relevant: Set[str], k: int) -> float:
    return sum(1 for item in ranked[:k] if item in relevant) / k


def recall_at_k(ranked: Sequence[str], relevant: Set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return sum(1 for item in ranked[:k] if item in relevant) / len(relevant)


def hit_rate_at_k(ranked: Sequence[str], relevant: Set[str], k: int) -> float:
    return float(any(item in relevant for item in ranked[:k]))


def ndcg_at_k(ranked: Sequence[str], relevant: Set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def average_precision_at_k(ranked: Sequence[str], relevant: Set[str], k: int) -> float:
    """AP@K normalised by min(K, |relevant|), so a perfect list scores 1."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, item in enumerate(ranked[:k]):
        if item in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / min(k, len(relevant))


def catalogue_coverage(lists: Sequence[Sequence[str]], catalogue_size: int, k: int) -> float:
    """Share of the catalogue that appears in at least one top-K list."""
    if catalogue_size == 0:
        return 0.0
    return len({item for ranked in lists for item in ranked[:k]}) / catalogue_size


def novelty(
    ranked: Sequence[str], popularity: Mapping[str, float], k: int, floor: float | None = None
) -> float:
    """Mean self-information (bits) of the items: -log2 of the share of users who had each.

    Items missing from `popularity` count as the rarest (`floor`, computed if not given).
    """
    items = ranked[:k]
    if not items:
        return 0.0
    if floor is None:
        floor = min(popularity.values(), default=1.0)
    return float(np.mean([-math.log2(popularity.get(item, floor)) for item in items]))


def intra_list_diversity(
    ranked: Sequence[str], genres: Mapping[str, frozenset[str]], k: int
) -> float:
    """Mean pairwise genre distance (1 - Jaccard) within the list; 0 for fewer than two items."""
    items = ranked[:k]
    if len(items) < 2:
        return 0.0
    distances = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            a, b = genres.get(items[i], frozenset()), genres.get(items[j], frozenset())
            union = len(a | b)
            distances.append(1.0 - (len(a & b) / union if union else 1.0))
    return float(np.mean(distances))


def genre_diversity(
    lists: Sequence[Sequence[str]], genres: Mapping[str, frozenset[str]], k: int
) -> float:
    """`intra_list_diversity` averaged over many lists, vectorised per list (same values)."""
    vocabulary = {g: i for i, g in enumerate(sorted({g for gs in genres.values() for g in gs}))}
    encoded: dict[str, np.ndarray] = {}
    values = []
    for ranked in lists:
        items = ranked[:k]
        if len(items) < 2:
            values.append(0.0)
            continue
        rows = np.zeros((len(items), max(len(vocabulary), 1)), dtype=np.float32)
        for r, item in enumerate(items):
            if item not in encoded:
                encoded[item] = np.fromiter(
                    (vocabulary[g] for g in genres.get(item, ())), dtype=np.int64
                )
            rows[r, encoded[item]] = 1.0
        shared = rows @ rows.T
        sizes = rows.sum(axis=1)
        union = sizes[:, None] + sizes[None, :] - shared
        # Two items with no genres at all count as alike (distance 0), as in the scalar version.
        similarity = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
        upper = np.triu_indices(len(items), 1)
        values.append(float(np.mean(1.0 - similarity[upper])))
    return float(np.mean(values)) if values else 0.0
