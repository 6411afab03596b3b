"""Implicit-feedback ALS (implicit library) with batched top-K and a safe `.npz` artifact."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recsys.matrix import InteractionMatrix
from recsys.models.base import Recommender


@dataclass(frozen=True)
class ALSParams:
    factors: int = 64
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 1.0
    random_state: int = 42


@dataclass
class ALSModel:
    params: ALSParams
    user_factors: np.ndarray  # users x factors, float32
    item_factors: np.ndarray  # items x factors, float32
    user_ids: np.ndarray
    item_ids: np.ndarray
    fit_seconds: float = 0.0

    def save(self, path: Path) -> Path:
        """Write factors and id maps as plain arrays: no pickles in the artifact."""
        np.savez_compressed(
            path,
            user_factors=self.user_factors,
            item_factors=self.item_factors,
            user_ids=self.user_ids.astype(str),
            item_ids=self.item_ids.astype(str),
            params=np.array(json.dumps(asdict(self.params))),
        )
        return path

    @classmethod
    def load(cls, path: Path) -> ALSModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                params=ALSParams(**json.loads(str(data["params"]))),
                user_factors=data["user_factors"],
                item_factors=data["item_factors"],
                user_ids=data["user_ids"].astype(object),
                item_ids=data["item_ids"].astype(object),
            )


def _implicit_model(params: ALSParams, use_gpu: bool = False):
    from implicit.als import AlternatingLeastSquares

    return AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        iterations=params.iterations,
        alpha=params.alpha,
        random_state=params.random_state,
        use_gpu=use_gpu,
    )


def gpu_available() -> bool:
    try:
        import implicit.gpu

        return bool(implicit.gpu.HAS_CUDA)
    except ImportError:
        return False


def fit_als(matrix: InteractionMatrix, params: ALSParams) -> ALSModel:
    """Fit on the confidence matrix; on the GPU when CUDA is present, else on the CPU."""
    if matrix.confidence.nnz == 0:
        raise ValueError("cannot train ALS: the interaction matrix has no positive confidences")
    use_gpu = gpu_available()
    started = time.perf_counter()
    # implicit runs its own threads; a multi-threaded BLAS underneath it only oversubscribes.
    with threadpool_limits(limits=1, user_api="blas"):
        model = _implicit_model(params, use_gpu=use_gpu)
        model.fit(matrix.confidence, show_progress=False)
    if use_gpu:
        model = model.to_cpu()
    return ALSModel(
        params=params,
        user_factors=np.asarray(model.user_factors, dtype=np.float32),
        item_factors=np.asarray(model.item_factors, dtype=np.float32),
        user_ids=matrix.user_ids,
        item_ids=matrix.item_ids,
        fit_seconds=time.perf_counter() - started,
    )


def top_k_for_users(
    model: ALSModel, matrix: InteractionMatrix, k: int, block_size: int = 4096
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (user rows, item columns, scores) per block of users; seen pairs never appear.

    Users with no positive confidence (only dislikes) have no taste to go on and are skipped:
    serving falls back to trending for them. Rows may hold fewer than k valid entries (a user
    who has seen almost everything): those slots have column -1. Memory stays at one block of
    users x items.
    """
    n_users = model.user_factors.shape[0]
    k = min(k, model.item_factors.shape[0])
    has_signal = np.diff(matrix.confidence.indptr) > 0
    for start in range(0, n_users, block_size):
        rows = start + np.flatnonzero(has_signal[start : start + block_size])
        if len(rows) == 0:
            continue
        columns, scores = _topk(model.item_factors, model.user_factors[rows], k, matrix.seen[rows])
        yield rows, columns, scores


def similar_items(
    model: ALSModel, k: int, block_size: int = 4096
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (item rows, similar item columns, cosine scores) per block of items, self excluded.

    Items whose factors are all zero (nobody liked them) are neither queried nor returned.
    """
    norms = np.linalg.norm(model.item_factors, axis=1)
    unit = (model.item_factors / np.maximum(norms, 1e-12)[:, None]).astype(np.float32)
    n_items = unit.shape[0]
    blank = np.flatnonzero(norms < 1e-9)
    k = min(k, n_items - 1 - len(blank))
    for start in range(0, n_items, block_size):
        rows = start + np.flatnonzero(norms[start : start + block_size] >= 1e-9)
        if len(rows) == 0 or k <= 0:
            continue
        itself = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (np.arange(len(rows)), rows)),
            shape=(len(rows), n_items),
        )
        columns, scores = _topk(unit, unit[rows], k, itself, blank)
        yield rows, columns, scores


def _topk(
    items: np.ndarray,
    queries: np.ndarray,
    k: int,
    exclude: sp.csr_matrix,
    exclude_items: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
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


def weight_confidence(matrix: InteractionMatrix, weighting: str) -> InteractionMatrix:
    """Reweight confidences with BM25 or TF-IDF (implicit's functions, applied per item)."""
    if weighting == "none":
        return matrix
    from implicit.nearest_neighbours import bm25_weight, tfidf_weight

    item_users = matrix.confidence.T.tocsr()
    if weighting == "bm25":
        weighted = bm25_weight(item_users, K1=100, B=0.8)
    elif weighting == "tfidf":
        weighted = tfidf_weight(item_users)
    else:
        raise ValueError(f"unknown weighting {weighting!r}: use none, bm25 or tfidf")
    return InteractionMatrix(
        confidence=weighted.T.tocsr().astype(np.float32),
        seen=matrix.seen,
        user_ids=matrix.user_ids,
        item_ids=matrix.item_ids,
    )


class ALSRecommender(Recommender):
    """implicit ALS behind the common model contract, with optional BM25/TF-IDF weighting."""

    name = "als"

    def __init__(self, params: ALSParams = ALSParams(), weighting: str = "none") -> None:
        self.als_params = params
        self.weighting = weighting

    def params(self) -> dict:
        return {**asdict(self.als_params), "weighting": self.weighting}

    def fit(self, train: InteractionMatrix) -> ALSRecommender:
        self.train = train
        self.model = fit_als(weight_confidence(train, self.weighting), self.als_params)
        return self

    def scores(self, user_rows: np.ndarray) -> np.ndarray:
        return self.model.user_factors[user_rows] @ self.model.item_factors.T
