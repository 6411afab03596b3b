"""Writes of the living catalogue: upserts and tombstones, from the API and the items topic.

`items` is a ReplacingMergeTree on `updated_at`: every write is a whole new row for the item and
the newest wins. A deletion writes the item's last row again with `deleted = 1`, so its title
and genres stay for the history that mentions it. Readers learn of writes through
`item_reads.changed_rows` (and, embedded, the catalogue marker beside the warehouse).
"""

from __future__ import annotations

from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from recsys.catalogue.payloads import ItemFields

WRITTEN_COLUMNS = [
    "item_id",
    "title",
    "genres",
    "tags",
    "year",
    "available_from",
    "available_until",
    "hidden",
    "deleted",
]


def upsert(client: Client, items: Sequence[tuple[str, ItemFields]]) -> int:
    """Add or replace items whole (a deleted item put again is re-added)."""
    rows = [
        [
            item_id,
            fields.title,
            list(fields.genres),
            list(fields.tags),
            fields.year,
            fields.available_from,
            fields.available_until,
            int(fields.hidden),
            0,
        ]
        for item_id, fields in items
    ]
    if rows:
        client.insert("items", rows, column_names=WRITTEN_COLUMNS)
    return len(rows)


def tombstone(client: Client, item_ids: Sequence[str]) -> list[str]:
    """Mark these items deleted, keeping their other fields; returns the ids that existed and
    were not deleted already (unknown ids are left alone)."""
    if not item_ids:
        return []
    found = client.query(
        "SELECT item_id FROM items FINAL WHERE item_id IN {ids:Array(String)} AND deleted = 0",
        parameters={"ids": list(item_ids)},
    ).result_columns
    existing = list(found[0]) if found else []
    if existing:
        columns = ", ".join(WRITTEN_COLUMNS[:-1])
        client.command(
            f"INSERT INTO items ({columns}, deleted) "
            f"SELECT {columns}, 1 FROM items FINAL WHERE item_id IN {{ids:Array(String)}}",
            parameters={"ids": existing},
        )
    return existing
