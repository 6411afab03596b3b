"""Reads of the catalogue (`items`, deduplicated with FINAL): whole, one item, a title search,
and what changed since a moment.

Writes are `item_writes` (and `source_tables.insert_items` for dataset loads). Rows are
(item_id, title, genres, tags, year, available_from, available_until, hidden, deleted).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.catalogue.lifecycle import HAS_LIFECYCLE_SQL, SERVABLE_SQL

ITEM_COLUMNS = (
    "item_id, title, genres, tags, year, available_from, available_until, hidden, deleted"
)
# An id that is not valid UTF-8 would read back as its hex text, which could shadow a real
# item; no valid event can name it anyway (the items check reports it).
SERVABLE = "isValidUTF8(item_id)"


def frame(client: Client) -> pd.DataFrame:
    """Every item, for training (content features) and the data checks."""
    return client.query_df(f"SELECT {ITEM_COLUMNS} FROM items FINAL")


def catalogue_rows(client: Client) -> list[tuple]:
    """Every item a client can name (withdrawn ones too: serving filters them by lifecycle)."""
    return client.query(f"SELECT {ITEM_COLUMNS} FROM items FINAL WHERE {SERVABLE}").result_rows


def rows_of(client: Client, item_ids: list[str]) -> list[tuple]:
    """The current rows of these items (as `catalogue_rows` gives them)."""
    return client.query(
        f"SELECT {ITEM_COLUMNS} FROM items FINAL WHERE item_id IN {{ids:Array(String)}}",
        parameters={"ids": item_ids},
    ).result_rows


def lifecycle_rows(client: Client) -> list[tuple]:
    """(item_id, available_from, available_until, hidden, deleted) of items with a lifecycle."""
    return client.query(
        "SELECT item_id, available_from, available_until, hidden, deleted FROM items FINAL "
        f"WHERE {SERVABLE} AND ({HAS_LIFECYCLE_SQL})"
    ).result_rows


def changed_rows(client: Client, since: datetime) -> tuple[list[tuple], datetime | None]:
    """Items whose newest row was written after `since`, and the newest write time seen."""
    result = client.query(
        f"SELECT {ITEM_COLUMNS}, updated_at FROM items FINAL "
        f"WHERE updated_at > {{since:DateTime64(3, 'UTC')}} AND {SERVABLE}",
        parameters={"since": since},
    ).result_rows
    newest = max((row[-1] for row in result), default=None)
    return [row[:-1] for row in result], newest


def rows_new_to(client: Client, model_version: str, since: datetime) -> list[tuple]:
    """Items written after `since` (a version's data cut-off) that the version has no row for
    in `item_model`: what it must place by content alone."""
    return client.query(
        f"SELECT {ITEM_COLUMNS} FROM items FINAL WHERE updated_at > {{since:DateTime64(3, 'UTC')}} "
        f"AND {SERVABLE} AND deleted = 0 AND item_id NOT IN "
        "(SELECT item_id FROM item_model WHERE model_version = {v:String})",
        parameters={"since": since, "v": model_version},
    ).result_rows


def write_signature(client: Client) -> tuple[datetime | None, int]:
    """(newest write time, stored rows): it moves with every write to the catalogue (and with
    merges, which is harmless), so polling it tells whether to read changes."""
    value, count = client.query("SELECT max(updated_at), count() FROM items").result_rows[0]
    return (value if count else None), int(count)


def servable_ids_sql() -> str:
    """A subquery of the ids that may be shown now (for exports and trending)."""
    return f"SELECT item_id FROM items FINAL WHERE {SERVABLE_SQL}"


def item_row(client: Client, item_id: str, settings: dict | None = None) -> tuple | None:
    rows = client.query(
        f"SELECT {ITEM_COLUMNS} FROM items FINAL WHERE item_id = {{key:String}}",
        parameters={"key": item_id},
        settings=settings,
    ).result_rows
    return rows[0] if rows else None


def search_rows(
    client: Client,
    needle: str,
    genre: str,
    offset: int,
    limit: int,
    settings: dict | None = None,
) -> tuple[int, list[tuple]]:
    """Items whose title contains `needle` (case-insensitive) and, if given, of `genre` (as the
    catalogue writes it), sorted by title: (total, page)."""
    where = (
        f"{SERVABLE} AND {SERVABLE_SQL} "
        "AND positionCaseInsensitiveUTF8(title, {needle:String}) > 0 "
        "AND ({genre:String} = '' OR has(genres, {genre:String}))"
    )
    params = {"needle": needle, "genre": genre, "limit": limit, "offset": offset}
    total = client.query(
        f"SELECT count() FROM items FINAL WHERE {where}", parameters=params, settings=settings
    ).result_rows[0][0]
    page = client.query(
        f"SELECT {ITEM_COLUMNS} FROM items FINAL WHERE {where} "
        "ORDER BY lower(title), item_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}",
        parameters=params,
        settings=settings,
    ).result_rows
    return int(total), page


def genre_names(client: Client) -> list[str]:
    rows = client.query("SELECT DISTINCT arrayJoin(genres) FROM items FINAL").result_rows
    return [genre for (genre,) in rows]


def item_count(client: Client) -> int:
    return int(client.query("SELECT count() FROM items FINAL").result_rows[0][0])


def item_ids(client: Client) -> set[str]:
    return set(client.query("SELECT item_id FROM items FINAL").result_columns[0])
