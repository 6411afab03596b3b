"""The request-time half of a fitted ranker, as one `.npz` blob: every retriever's item side,
the item features as of publication, the items' genres, the booster and the rules.

`recsys.ranking.request_time.OnlineRanker` reads it in the API. Item rows follow the version's
columns (`ranker.train.item_ids`), as every other item side does.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.foldin import FoldInSpec
from recsys.foldin.blend import Blend
from recsys.models.base import Recommender, sparse_arrays
from recsys.ranking.candidates import RECENT
from recsys.ranking.features import ITEM_FEATURES, ITEM_HISTORY, ITEM_STATIC
from recsys.ranking.request_time import RANKER_BUNDLE

NAME = RANKER_BUNDLE


def to_bytes(ranker: Any) -> bytes:
    """The bundle of a `RankerRecommender` fitted on all data and attached to the live
    warehouse (it calls this from `serving_bundles`)."""
    arrays = _arrays(ranker)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _arrays(ranker: Any) -> dict[str, np.ndarray]:
    tables = ranker.feature_source().tables()
    if tables.history_now is None:
        raise ValueError("bundle a ranker attached to the live warehouse (features as of now)")
    item_ids = ranker.train.item_ids
    history = tables.history_now.reindex(item_ids)
    static = tables.items.reindex(item_ids)
    features = np.column_stack(
        [history[name] for name in ITEM_HISTORY] + [static[name] for name in ITEM_STATIC]
    ).astype(np.float64)
    assert features.shape[1] == len(ITEM_FEATURES)
    arrays: dict[str, np.ndarray] = {
        "item_ids": np.asarray(item_ids, dtype=str),
        "item_features": features,
        "booster": np.array(ranker.booster.model_to_string()),
        **sparse_arrays("genres", _genre_membership(static["genres"])),
    }
    kinds = {}
    for name, model in ranker.fitted.items():
        kinds[name] = _retriever(name, model, arrays)
    rule = {
        "rating_threshold": ranker.split.rating_threshold,
        "min_confidence": ranker.split.min_confidence,
        "half_life_days": ranker.feature_source().sources.half_life_days,
    }
    # Retrievers whose batch retrieval keeps reached items only (`retrieve` overridden).
    sparse = [n for n, m in ranker.fitted.items() if type(m).retrieve is not Recommender.retrieve]
    sparse = [
        n for n in sparse if n != RECENT or hasattr(ranker.fitted[n].similarity, "item_similarity")
    ]
    meta = {
        "depth": ranker.depth,
        "rule": rule,
        "retrievers": list(kinds),
        "kinds": kinds,
        "sparse": sparse,
    }
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def _retriever(name: str, model, arrays: dict[str, np.ndarray]) -> str:
    """Add one retriever's item side to `arrays`; its kind."""
    if name == "popularity":
        arrays[f"{name}.counts"] = model.counts.astype(np.float32)
        return "popularity"
    if name == "content_tfidf":
        arrays.update(sparse_arrays(f"{name}.vectors", model.vectors))
        return "content"
    if name == RECENT:
        similarity = model.similarity
        weights = getattr(similarity, "item_similarity", None)  # item-kNN's, exactly
        parts = similarity.fold_in_parts()
        if weights is None and parts.kind == "factors":  # ALS: cosine of its item factors
            factors = np.asarray(parts.factors, dtype=np.float32)
            norms = np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
            arrays[f"{name}.unit_factors"] = factors / norms
            return "recent_factors"
        # EASE: its strongest weights per item (the item side its own fold-in uses).
        arrays.update(
            sparse_arrays(
                f"{name}.similarity", weights if weights is not None else parts.item_weights
            )
        )
        return "recent"
    parts = model.fold_in_parts()
    spec = FoldInSpec.of(name, parts, Blend(1.0, 0), {})
    arrays[f"{name}.spec"] = np.array(json.dumps(spec.to_json()))
    if parts.factors is not None:
        arrays[f"{name}.factors"] = np.asarray(parts.factors, dtype=np.float32)
    if parts.item_weights is not None:
        arrays.update(sparse_arrays(f"{name}.weights", parts.item_weights))
    if parts.length_norm is not None:
        arrays[f"{name}.length_norm"] = parts.length_norm
    return parts.kind


def _genre_membership(genres: pd.Series) -> sp.csr_matrix:
    lists = [list(g) if g is not None and not isinstance(g, float) else [] for g in genres]
    names = sorted({str(g) for item in lists for g in item})
    column = {g: c for c, g in enumerate(names)}
    rows = [r for r, item in enumerate(lists) for _ in set(item)]
    cols = [column[str(g)] for item in lists for g in set(item)]
    return sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(lists), max(len(names), 1))
    )
