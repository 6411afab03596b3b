"""Writing one model version's derived tables: recommendations, similar items, trending."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import numpy as np
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from recsys.events.ids import id_array
from recsys.lifts import Lifts
from recsys.warehouse.cluster import rows_table
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.interaction_sql import event_weight_sql
from recsys.warehouse.item_reads import servable_ids_sql
from recsys.warehouse.quarantine import valid_events_condition


def topk_table(
    rows: np.ndarray,
    columns: np.ndarray,
    scores: np.ndarray,
    row_ids: np.ndarray,
    column_ids: pa.Array,
    names: tuple[str, str],
    model_version: str,
    source: str,
    withheld: np.ndarray | None = None,
    limit: int | None = None,
    lifted_by: Lifts | None = None,
    bucket: int | None = None,
) -> pa.Table:
    """Flatten top-K lists into Arrow rows (key, rank, value, score, version, source).

    `rows` index `row_ids`; `columns` index `column_ids` (-1 marks an empty slot, dropped).
    Columns `withheld` marks (items that may not be shown now) are dropped too, and each row
    keeps at most `limit` entries (callers ask for a few more to fill the gaps).
    Ids travel dictionary-encoded: no Python string per row, however many rows there are.
    `lifted_by` (a learned ranker's) adds, per slot, the features that lifted the item most;
    `bucket` (user recommendations') tags the rows with the generation bucket that wrote them.
    """
    key, value = names
    k = columns.shape[1]
    valid = columns >= 0
    if withheld is not None and withheld.any():
        valid &= ~withheld[np.where(valid, columns, 0)]
    if limit is not None:
        valid &= np.cumsum(valid, axis=1) <= limit
    # Ranks count valid entries only, so a row with gaps still ranks 1, 2, 3...
    ranks = np.cumsum(valid, axis=1)[valid]
    n = len(ranks)
    block_keys = id_array(row_ids[rows])
    key_codes = np.repeat(np.arange(len(rows), dtype=np.int32), k).reshape(-1, k)[valid]
    table = {
        "model_version": _constant(model_version, n),
        key: pa.DictionaryArray.from_arrays(key_codes, block_keys),
        "rank": pa.array(ranks.astype(np.uint16)),
        value: pa.DictionaryArray.from_arrays(columns[valid].astype(np.int32), column_ids),
        "score": pa.array(scores[valid].astype(np.float32)),
        "source": _constant(source, n),
    }
    if lifted_by is not None:
        table["lifted_by"], table["lifts"] = lifted_by.arrow(valid)
    if bucket is not None:
        table["bucket"] = pa.array(np.full(n, bucket, np.uint16))
    return pa.table(table)


def _constant(text: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([text], pa.string()))


def write_topk(
    warehouse: Warehouse,
    table: str,
    model_version: str,
    blocks: Iterable[pa.Table],
    on_block: Callable[[int], None] | None = None,
    replace: bool = True,
) -> int:
    """Append Arrow blocks of rows for `model_version`, one short session per block.

    With `replace`, rows an earlier attempt left for this version are dropped first.
    """
    if replace:
        with warehouse.session() as client:
            clear_version(client, table, model_version)
    written = 0
    for block in blocks:
        if not block.num_rows:
            continue
        with warehouse.session() as client:
            client.insert_arrow(table, block)
        written += block.num_rows
        if on_block:
            on_block(written)
    return written


def write_user_bucket(
    warehouse: Warehouse,
    model_version: str,
    bucket: int,
    blocks: Iterable[pa.Table],
) -> int:
    """Append one generation bucket's recommendation rows for `model_version`, first removing
    the rows an earlier attempt at this very bucket left: a retried bucket replaces its own
    rows and leaves every other bucket's alone (they may be written at the same moment)."""
    with warehouse.session() as client:
        clear_bucket(client, model_version, bucket)
    return write_topk(warehouse, "user_recommendations", model_version, blocks, replace=False)


def clear_bucket(client: Client, model_version: str, bucket: int) -> int:
    """Delete what an earlier attempt wrote for this bucket of `model_version`; returns how
    many rows that was (a first attempt finds none and changes nothing)."""
    where = "model_version = {v:String} AND bucket = {b:UInt16}"
    parameters = {"v": model_version, "b": bucket}
    found = client.query(
        f"SELECT count() FROM user_recommendations WHERE {where}", parameters=parameters
    ).result_rows[0][0]
    if found:
        # Waited for on every replica: the retry's rows must not be deleted with the old ones.
        client.command(
            f"ALTER TABLE {rows_table(client, 'user_recommendations')} DELETE WHERE {where}",
            parameters=parameters,
            settings={"mutations_sync": 2},
        )
    return int(found)


EXPORT_TABLES = ("user_recommendations", "similar_items", "trending_items", "item_model")
# Written with a version and pruned with it, but a version may have none (no content terms).
VERSION_TABLES = (*EXPORT_TABLES, "content_terms", "model_bundles")


def withheld_columns(client: Client, item_ids: np.ndarray) -> np.ndarray:
    """Which of `item_ids` may not be shown now (deleted, hidden, outside their window): an
    export leaves them out."""
    rows = client.query(
        f"SELECT item_id FROM items FINAL WHERE item_id NOT IN ({servable_ids_sql()})"
    ).result_columns
    return np.isin(np.asarray(item_ids, dtype=object), list(rows[0]) if rows else [])


def clear_version(client: Client, table: str, model_version: str) -> None:
    """Drop rows a failed earlier attempt left in `table` for this version: retries start clean."""
    if table not in VERSION_TABLES:
        raise ValueError(f"not an export table: {table}")
    client.command(
        f"ALTER TABLE {rows_table(client, table)} DROP PARTITION {{v:String}}",
        parameters={"v": model_version},
    )


def row_counts(client: Client, model_version: str) -> dict[str, int]:
    """Rows each export table holds for `model_version`."""
    return {
        table: int(
            client.query(
                f"SELECT count() FROM {table} WHERE model_version = {{v:String}}",
                parameters={"v": model_version},
            ).result_rows[0][0]
        )
        for table in EXPORT_TABLES
    }


TRENDING_WINDOWS_DAYS = {"1d": 1, "7d": 7, "30d": 30}


def write_trending(
    client: Client,
    model_version: str,
    weights: dict[str, float],
    half_life_days: float,
    epoch: datetime,
    limit: int = 1000,
) -> dict[str, int]:
    """Trending lists computed inside ClickHouse, relative to the newest event.

    `decayed`: every event counts, halving per `half_life_days` of age (the default list);
    `1d`, `7d`, `30d`: events within that window count in full. Returns rows per window.
    Invalid events (`recsys.events.validity`) count for nothing, and do not move "newest".
    """
    weight, params = event_weight_sql(weights)
    valid, valid_params = valid_events_condition(epoch)
    clear_version(client, "trending_items", model_version)
    windows = {"decayed": None, **TRENDING_WINDOWS_DAYS}
    for window, days in windows.items():
        if days is None:
            decay = "exp(-dateDiff('second', timestamp, newest) / {half_life:Float64})"
            since = ""
        else:
            decay = "1"
            since = "AND timestamp >= newest - toIntervalDay({days:UInt32})"
        client.command(
            f"""
            INSERT INTO trending_items (model_version, window, rank, item_id, score)
            SELECT {{v:String}}, {{window:String}}, toUInt16(rowNumberInAllBlocks() + 1),
                item_id, toFloat32(score)
            FROM (
                SELECT item_id, sum(weight * {decay}) AS score
                FROM (
                    SELECT item_id, timestamp, {weight} AS weight,
                        (SELECT max(timestamp) FROM events FINAL WHERE {valid}) AS newest
                    FROM events FINAL
                    WHERE event_type != 'dislike' AND item_id IN ({servable_ids_sql()})
                        AND {valid}
                )
                WHERE 1 {since}
                GROUP BY item_id
                HAVING score > 0
                ORDER BY score DESC, item_id
                LIMIT {{limit:UInt32}}
            )
            """,
            parameters={
                **params,
                **valid_params,
                "v": model_version,
                "window": window,
                "days": days or 0,
                "half_life": half_life_days * 86_400 / np.log(2),
                "limit": limit,
            },
        )
    rows = client.query(
        "SELECT window, count() FROM trending_items WHERE model_version = {v:String} "
        "GROUP BY window",
        parameters={"v": model_version},
    ).result_rows
    return {window: int(n) for window, n in rows}
