"""The user x item matrix and the id maps that translate its rows and columns back to ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.events.ids import IdCodes


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

    @classmethod
    def empty(cls, item_ids: np.ndarray) -> InteractionMatrix:
        """No users, these items: for models that only describe items."""
        none = sp.csr_matrix((0, len(item_ids)), dtype=np.float32)
        return cls(none, none.copy(), np.array([], dtype=object), np.asarray(item_ids))

    @property
    def density(self) -> float:
        users, items = self.shape
        return self.seen.nnz / (users * items) if users and items else 0.0


def build_matrix(blocks: Iterable[pd.DataFrame]) -> InteractionMatrix:
    """Build CSR matrices from (user_id, item_id, confidence, disliked) blocks, no dense step.

    Rows and columns follow the order ids are first seen in, so blocks streamed in primary-key
    order give rows sorted by user id (and exports written in that order arrive pre-sorted).
    """
    users, items = IdCodes(), IdCodes()
    rows, cols, values = [], [], []
    for block in blocks:
        if block.empty:
            continue
        rows.append(users.encode(block["user_id"].to_numpy()))
        cols.append(items.encode(block["item_id"].to_numpy()))
        values.append(block["confidence"].to_numpy(dtype=np.float32))
    if not rows:
        return InteractionMatrix.empty(np.array([], dtype=object))
    shape = (len(users), len(items))
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    value = np.concatenate(values)
    del rows, cols, values
    seen = sp.csr_matrix((np.ones_like(value), (row, col)), shape=shape, dtype=np.float32)
    positive = value > 0
    confidence = sp.csr_matrix(
        (value[positive], (row[positive], col[positive])), shape=shape, dtype=np.float32
    )
    return InteractionMatrix(
        confidence=confidence, seen=seen, user_ids=users.ids(), item_ids=items.ids()
    )
