"""The contract every model follows: fit on a matrix, score blocks of users, recommend top-K."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.events.ids import pack_ids
from recsys.foldin import FoldInParts
from recsys.lifts import Lifts
from recsys.models.lifecycle import Lifecycle
from recsys.models.matrix import InteractionMatrix


class Recommender(Lifecycle, ABC):
    """Scores items for users of the matrix it was fitted on (rows and columns as in `train`).

    Between fitting and serving, the pipeline calls the hooks of `recsys.models.lifecycle`."""

    name: str = "recommender"
    train: InteractionMatrix
    # Users scored at once when generating every list: dense scores are block x items floats.
    recommend_block_size: int = 1024
    # Can lists be generated on several threads at once (scoring reads no shared handle)?
    parallel_safe: bool = True
    # Threads worth generating lists on when the run config leaves it to the model: one,
    # since implicit's top-K already keeps every core busy.
    preferred_workers: int = 1

    @abstractmethod
    def fit(self, train: InteractionMatrix) -> Recommender: ...

    @abstractmethod
    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        """Dense float32 scores, one row per user in `user_rows`, one column per item."""

    def params(self) -> dict[str, Any]:
        return {}

    def item_similarity_rows(self, item_cols: np.ndarray) -> np.ndarray:
        """Dense similarity of each item in `item_cols` to every item (higher is closer)."""
        raise NotImplementedError(f"{self.name} has no item-item similarity")

    def similar(self, item_cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each item's k most similar other items: (columns, scores); -1 marks empty slots."""
        scores = self.item_similarity_rows(item_cols).astype(np.float32, copy=True)
        scores[np.arange(len(item_cols)), item_cols] = -np.inf
        return top_k(scores, k)

    def artifact_arrays(self) -> dict[str, np.ndarray]:
        """What serving needs of the fitted model, as plain arrays (no pickles)."""
        return {}

    def fold_in_parts(self) -> FoldInParts:
        """What scoring a new or changed user at request time needs (see `recsys.foldin`).

        The default has no collaborative part: content scores alone, or trending.
        """
        return FoldInParts()

    def save(self, path: Path) -> Path:
        """Write the model as `.npz`: its arrays, id maps, family and params (JSON).

        Uncompressed: factors barely compress, and zlib over millions of users' rows would cost
        more than the fit."""
        np.savez(
            path,
            family=np.array(self.name),
            params=np.array(json.dumps(self.params(), sort_keys=True, default=str)),
            **_packed("user_ids", self.train.user_ids),
            **_packed("item_ids", self.train.item_ids),
            **self.artifact_arrays(),
        )
        return path

    def prepare_scoring(self) -> None:
        """Read whatever scoring would otherwise read on first use, so threads that score at
        once find it there (nothing, for a model whose state is all in memory)."""
        return None

    def recommend_explained(
        self, user_rows: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, Lifts | None]:
        """`recommend`, plus per slot the features that raised the item most (`recsys.lifts`;
        None: this model does not explain itself)."""
        columns, scores = self.recommend(user_rows, k)
        return columns, scores, None

    def retrieve(self, user_rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidates for a second stage: `recommend`, unless a model knows a cheaper way."""
        return self.recommend(user_rows, n)

    def recommend(self, user_rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(item columns, scores) of each user's k best unseen items; -1 marks empty slots."""
        scores = self.scores(user_rows)
        seen = self.train.seen[user_rows].tocoo()
        scores[seen.row, seen.col] = -np.inf
        return top_k(scores, k)


def unseen(scores: sp.csr_matrix, seen: sp.csr_matrix) -> sp.csr_matrix:
    """`scores` without the entries the user has seen."""
    kept = scores - scores.multiply(seen > 0)
    kept.eliminate_zeros()
    return kept.tocsr()


def sparse_top_k(scores: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k largest positive stored entries, best first; -1 marks empty slots. For
    retrievers whose scores reach few items (item-item), without a users x items dense step."""
    scores = sp.csr_matrix(scores)
    scores.sort_indices()
    n_rows = scores.shape[0]
    columns = np.full((n_rows, k), -1, dtype=np.int64)
    best = np.full((n_rows, k), -np.inf, dtype=np.float32)
    row_of = np.repeat(np.arange(n_rows), np.diff(scores.indptr))
    positive = scores.data > 0
    row_of, cols, data = row_of[positive], scores.indices[positive], scores.data[positive]
    # By row, best first, ties by column: lexsort is stable, so with each row's columns in
    # order (sort_indices) two keys do what three would, faster.
    order = np.lexsort((-data, row_of))
    row_of, cols, data = row_of[order], cols[order], data[order]
    starts = np.searchsorted(row_of, np.arange(n_rows))
    rank = np.arange(len(row_of)) - starts[row_of]
    keep = rank < k
    columns[row_of[keep], rank[keep]] = cols[keep]
    best[row_of[keep], rank[keep]] = data[keep]
    return columns, best


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indexes and scores of each row's k best, best first; -inf slots become -1."""
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    if k == 0:
        return np.empty((n_rows, 0), np.int64), np.empty((n_rows, 0), np.float32)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    columns = np.take_along_axis(part, order, axis=1)
    best = np.take_along_axis(part_scores, order, axis=1).astype(np.float32)
    columns[~np.isfinite(best)] = -1
    return columns, best


def dot_topk(
    items: np.ndarray,
    queries: np.ndarray,
    k: int,
    exclude: sp.csr_matrix,
    exclude_items: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each query's k items of highest dot product, minus `exclude`'s (row-wise) entries.

    implicit's multi-threaded top-K: about 10x faster than a dense product and argpartition,
    and it never holds more than a block of scores.
    """
    from implicit.cpu.topk import topk

    if k <= 0:
        return np.empty((len(queries), 0), np.int64), np.empty((len(queries), 0), np.float32)
    columns, scores = topk(
        items,
        queries,
        k,
        filter_query_items=exclude.astype(np.float32),
        filter_items=exclude_items if exclude_items is not None and len(exclude_items) else None,
    )
    # implicit marks filtered slots with the lowest float32; make them explicit gaps.
    columns = np.where(scores <= -1e38, -1, columns)
    return columns, scores


def cosine_neighbours(
    vectors: np.ndarray, item_cols: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each item in `item_cols`'s k nearest other items by cosine of dense `vectors` rows."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    itself = sp.csr_matrix(
        (np.ones(len(item_cols), np.float32), (np.arange(len(item_cols)), item_cols)),
        shape=(len(item_cols), len(vectors)),
    )
    return dot_topk(unit, unit[item_cols], min(k, len(vectors) - 1), itself)


def sparse_arrays(prefix: str, matrix: sp.spmatrix) -> dict[str, np.ndarray]:
    """A CSR matrix as four plain arrays, for `.npz` artifacts."""
    csr = sp.csr_matrix(matrix)
    return {
        f"{prefix}_data": csr.data,
        f"{prefix}_indices": csr.indices,
        f"{prefix}_indptr": csr.indptr,
        f"{prefix}_shape": np.array(csr.shape),
    }


def _packed(name: str, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Ids as UTF-8 bytes plus offsets: exact (fixed-width numpy strings drop trailing NULs)."""
    data, offsets = pack_ids(ids)
    return {f"{name}_utf8": data, f"{name}_offsets": offsets}
