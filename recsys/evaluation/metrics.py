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
    lists: Sequence[Sequence[str]],
    genres: Mapping[str, frozenset[str]],
    k: int,
    block: int = 2048,
) -> float:
    """`intra_list_diversity` averaged over many lists (same values), computed for a block of
    lists at once as lists x slots x genres arrays: one list at a time cost seconds per run."""
    if not lists:
        return 0.0
    vocabulary = {g: i for i, g in enumerate(sorted({g for gs in genres.values() for g in gs}))}
    row_of: dict[str, int] = {}
    codes = np.full((len(lists), max(1, k)), -1, dtype=np.int64)
    for n, ranked in enumerate(lists):
        for slot, item in enumerate(ranked[:k]):
            codes[n, slot] = row_of.setdefault(item, len(row_of))
    member = np.zeros((len(row_of) + 1, max(len(vocabulary), 1)), dtype=np.float32)
    for item, row in row_of.items():  # the last row stays empty: the padding of short lists
        member[row, [vocabulary[g] for g in genres.get(item, ())]] = 1.0
    values = [_block_diversity(codes[i : i + block], member) for i in range(0, len(lists), block)]
    return float(np.concatenate(values).mean())


def _block_diversity(codes: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Each list's mean pairwise genre distance (0 for a list of fewer than two items)."""
    rows = member[codes]  # lists x slots x genres (padding: -1 picks the empty last row)
    shared = rows @ rows.transpose(0, 2, 1)
    sizes = rows.sum(axis=2)
    union = sizes[:, :, None] + sizes[:, None, :] - shared
    # Two items with no genres at all count as alike (distance 0), as in the scalar version.
    similarity = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
    filled = codes >= 0
    slots = codes.shape[1]
    pairs = filled[:, :, None] & filled[:, None, :] & np.triu(np.ones((slots, slots), bool), 1)
    counts = pairs.sum(axis=(1, 2))
    distance = np.where(pairs, 1.0 - similarity, 0.0).sum(axis=(1, 2))
    return np.divide(distance, counts, out=np.zeros(len(codes)), where=counts > 0)
