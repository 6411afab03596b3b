"""Candidate recall: how much of each user's relevant held-out items a retriever's top N holds,
alone and in the union of retrievers. A ranker over candidates can never recover an item
retrieval missed, so this bounds what a second stage could reach.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys.evaluation.evaluate import EvaluationData
from recsys.models.base import Recommender

UNION = "union"


def relevant_retrieved(
    model: Recommender, data: EvaluationData, n: int, block_size: int = 1024
) -> dict[int, frozenset[str]]:
    """Per evaluated user row: the relevant held-out items in the fitted model's top n, as it
    retrieves them for a second stage (item-item models: only items they reach)."""
    users = data.users
    found: dict[int, frozenset[str]] = {}
    item_ids = data.train.item_ids
    for start in range(0, len(users), block_size):
        rows = users[start : start + block_size]
        columns, _ = model.retrieve(rows, n)
        for row, cols in zip(rows, columns, strict=True):
            wanted = data.relevant[int(row)]
            found[int(row)] = frozenset(item_ids[c] for c in cols if c >= 0) & wanted
    return found


def candidate_recall(
    retrieved: Mapping[str, dict[int, frozenset[str]]], data: EvaluationData
) -> dict[str, float]:
    """Mean recall over evaluated users per retriever, and for the union of all of them."""
    if not data.relevant:
        return {}
    recall = {}
    for name, hits in retrieved.items():
        recall[name] = _mean_recall(hits, data)
    union = {
        row: frozenset().union(*(hits.get(row, frozenset()) for hits in retrieved.values()))
        for row in data.relevant
    }
    recall[UNION] = _mean_recall(union, data)
    return recall


def _mean_recall(hits: dict[int, frozenset[str]], data: EvaluationData) -> float:
    return float(
        np.mean([len(hits.get(row, ())) / len(wanted) for row, wanted in data.relevant.items()])
    )
