"""The user x item matrix and the id maps that translate its rows and columns back to ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class InteractionMatrix:
    """Confidences for training plus every pair the user has touched (to filter from results)."""

    confidence: sp.csr_matrix  # users x items, float32; 0 where disliked
    seen: sp.csr_matrix  # users x items, 1 for every pair with any event, dislikes included
    user_ids: np.ndarray  # row index -> user id (str)
    item_ids: np.ndarray  # column index -> item id (str)

    @property
    def shape(self) -> tuple[int, int]:
        return self.confidence.shape

    @property
    def density(self) -> float:
        users, items = self.shape
        return self.seen.nnz / (users * items) if users and items else 0.0


def build_matrix(blocks: Iterable[pd.DataFrame]) -> InteractionMatrix:
    """Build CSR matrices from (user_id, item_id, confidence, disliked) blocks, no dense step."""
    user_codes: dict[str, int] = {}
    item_codes: dict[str, int] = {}
    rows, cols, values = [], [], []
    for block in blocks:
        if block.empty:
            continue
        rows.append(_encode(block["user_id"].to_numpy(), user_codes))
        cols.append(_encode(block["item_id"].to_numpy(), item_codes))
        values.append(block["confidence"].to_numpy(dtype=np.float32))
    shape = (len(user_codes), len(item_codes))
    if not rows:
        empty = sp.csr_matrix(shape, dtype=np.float32)
        return InteractionMatrix(empty, empty.copy(), np.array([], object), np.array([], object))
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    value = np.concatenate(values)
    seen = sp.csr_matrix((np.ones_like(value), (row, col)), shape=shape, dtype=np.float32)
    positive = value > 0
    confidence = sp.csr_matrix(
        (value[positive], (row[positive], col[positive])), shape=shape, dtype=np.float32
    )
    return InteractionMatrix(
        confidence=confidence,
        seen=seen,
        user_ids=np.array(list(user_codes), dtype=object),
        item_ids=np.array(list(item_codes), dtype=object),
    )


def _encode(ids: np.ndarray, codes: dict[str, int]) -> np.ndarray:
    """Map ids to dense integer codes, extending `codes` with first-seen ids in order."""
    uniques, inverse = np.unique(ids.astype(str), return_inverse=True)
    lookup = np.empty(len(uniques), dtype=np.int32)
    for position, value in enumerate(uniques):
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(codes)
        lookup[position] = code
    return lookup[inverse]
