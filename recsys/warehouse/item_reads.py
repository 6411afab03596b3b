"""Reads of the catalogue (`items`, deduplicated with FINAL): whole, one item, a title search.

Writes are `source_tables.insert_items`. Rows are (item_id, title, genres, tags, year).
"""

from __future__ import annotations

import pandas as pd
from clickhouse_connect.driver.client import Client

ITEM_COLUMNS = "item_id, title, genres, tags, year"
# An id that is not valid UTF-8 would read back as its hex text, which could shadow a real
# item; no valid event can name it anyway (the items check reports it).
SERVABLE = "isValidUTF8(item_id)"


def frame(client: Client) -> pd.DataFrame:
    """Every item, for training (content features) and the data checks."""
    return client.query_df(f"SELECT {ITEM_COLUMNS} FROM items FINAL")


def servable_rows(client: Client) -> list[tuple]:
    return client.query(f"SELECT {ITEM_COLUMNS} FROM items FINAL WHERE {SERVABLE}").result_rows


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
        f"{SERVABLE} AND positionCaseInsensitiveUTF8(title, {{needle:String}}) > 0 "
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
