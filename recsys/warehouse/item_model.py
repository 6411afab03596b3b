"""The `item_model` table: a version's item side for fold-in (factors, item weights, content).

One row per item in the model's column order, so a reader rebuilds the same matrices without a
training library. Written in blocks like the other exports, and published with them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from clickhouse_connect.driver.client import Client

from recsys.foldin import ItemSide
from recsys.foldin.content_vocabulary import ContentVocabulary
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.exports import clear_version

_COLUMNS = (
    "model_version",
    "position",
    "item_id",
    "factors",
    "neighbour_positions",
    "neighbour_weights",
    "term_positions",
    "term_weights",
    "length_norm",
)


def write_item_model(
    warehouse: Warehouse,
    model_version: str,
    items: ItemSide,
    block_rows: int = 5_000,
    on_block: Callable[[int], None] | None = None,
) -> int:
    """Write every item's row for `model_version` (replacing an earlier attempt's rows)."""
    with warehouse.session() as client:
        clear_version(client, "item_model", model_version)
    n_items = len(items.item_ids)
    weights = items.item_weights.tocsr() if items.item_weights is not None else None
    content = items.content.tocsr()
    written = 0
    for start in range(0, n_items, block_rows):
        stop = min(start + block_rows, n_items)
        rows = [
            [
                model_version,
                position,
                str(items.item_ids[position]),
                items.factors[position].tolist() if items.factors is not None else [],
                *_sparse_row(weights, position),
                *_sparse_row(content, position),
                float(items.length_norm[position]) if items.length_norm is not None else 1.0,
            ]
            for position in range(start, stop)
        ]
        with warehouse.session() as client:
            client.insert("item_model", rows, column_names=list(_COLUMNS))
        written += len(rows)
        if on_block:
            on_block(written)
    return written


def write_content_terms(
    warehouse: Warehouse, model_version: str, vocabulary: ContentVocabulary
) -> int:
    """The version's TF-IDF vocabulary, so items added after training get vectors in it."""
    with warehouse.session() as client:
        clear_version(client, "content_terms", model_version)
        rows = [
            [model_version, position, term, float(idf)]
            for position, (term, idf) in enumerate(
                zip(vocabulary.terms, vocabulary.idf, strict=True)
            )
        ]
        if rows:
            client.insert(
                "content_terms", rows, column_names=["model_version", "position", "term", "idf"]
            )
    return len(rows)


def read_content_terms(client: Client, model_version: str) -> ContentVocabulary | None:
    """The version's vocabulary, or None for versions published without one."""
    result = client.query(
        "SELECT term, idf FROM content_terms WHERE model_version = {v:String} ORDER BY position",
        parameters={"v": model_version},
    )
    if not result.row_count:
        return None
    terms, idf = result.result_columns
    return ContentVocabulary(tuple(terms), np.asarray(idf, dtype=np.float32))


def read_item_model(client: Client, model_version: str) -> ItemSide | None:
    """The item side of `model_version`, or None if the version has none (published earlier)."""
    result = client.query(
        f"SELECT {', '.join(_COLUMNS[1:])} FROM item_model "
        "WHERE model_version = {v:String} ORDER BY position",
        parameters={"v": model_version},
    )
    if not result.row_count:
        return None
    (
        positions,
        item_ids,
        factors,
        neighbour_positions,
        neighbour_weights,
        term_positions,
        term_weights,
        length_norm,
    ) = result.result_columns
    n_items = len(item_ids)
    if list(positions) != list(range(n_items)):
        raise ValueError(f"item_model rows of {model_version} are not positions 0..{n_items - 1}")
    has_factors = len(factors[0]) > 0
    has_weights = any(len(row) for row in neighbour_positions)
    n_terms = 1 + max((max(row) for row in term_positions if len(row)), default=-1)
    return ItemSide(
        item_ids=np.array(item_ids, dtype=object),
        content=_csr(term_positions, term_weights, (n_items, n_terms)),
        factors=np.array(factors, dtype=np.float32) if has_factors else None,
        item_weights=(
            _csr(neighbour_positions, neighbour_weights, (n_items, n_items))
            if has_weights
            else None
        ),
        length_norm=np.array(length_norm, dtype=np.float32),
    )


def _sparse_row(matrix: sp.csr_matrix | None, row: int) -> tuple[list[int], list[float]]:
    if matrix is None:
        return [], []
    start, stop = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:stop].tolist(), matrix.data[start:stop].tolist()


def _csr(positions, values, shape: tuple[int, int]) -> sp.csr_matrix:
    lengths = np.fromiter((len(row) for row in positions), dtype=np.int64, count=len(positions))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([np.asarray(row, np.int32) for row in positions] or [[]])
    data = np.concatenate([np.asarray(row, np.float32) for row in values] or [[]])
    return sp.csr_matrix((data.astype(np.float32), indices.astype(np.int32), indptr), shape=shape)
