"""Erasing a user's rows from the warehouse, leaving nothing on disk that names them.

- Every table with a `user_id` column is found from the schema itself (`system.columns`), so a
  table added later is erased without anyone remembering to list it; dead letters (raw bytes)
  are matched by their content and deleted by log position.
- ClickHouse keeps each mutation's text with the table. A predicate on the id (or on any hash
  of it computable from the text) would let anyone holding those files test candidate ids, so
  the rows are selected through a table that exists only during the erasure: its name is
  random, it lives in memory, and it is dropped afterwards. The statement says nothing.
- A mutation rewrites parts and leaves the old ones behind; a ClickHouse server removes them at
  once (`old_parts_lifetime` is 0 on these tables), embedded chDB never does, so their folders
  are deleted here, with the texts of finished mutations (which older erasures wrote).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from clickhouse_connect.driver.client import Client

from recsys.warehouse.cluster import distributed, rows_table

WAIT = {"mutations_sync": 2}  # the statement returns once every part is rewritten
DEAD_LETTERS = "events_rejected"


class ErasureIncompleteError(RuntimeError):
    """Rows of the user were still there after their deletion was waited for."""


def user_tables(client: Client) -> list[str]:
    """Tables whose rows each name one user (a `user_id` column). On a cluster, the
    Distributed tables, not their local tables (erased through them)."""
    rows = client.query(
        """
        SELECT t.name, t.engine_full FROM system.tables AS t
        WHERE t.database = currentDatabase() AND NOT t.is_temporary
            AND t.engine NOT IN ('View', 'MaterializedView', 'LiveView', 'WindowView')
            AND t.name IN (
                SELECT table FROM system.columns
                WHERE database = currentDatabase() AND name = 'user_id'
            )
        ORDER BY t.name
        """
    ).result_rows
    fronts = {name: distributed(engine) for name, engine in rows}
    locals_ = {front.local for front in fronts.values() if front is not None}
    return [name for name in fronts if name not in locals_]


def erase_rows(client: Client, user_id: str) -> dict[str, int]:
    """Delete the user's rows from every table that holds them; rows removed per table."""
    removed: dict[str, int] = {}
    tables = user_tables(client)
    counts = {table: _count(client, table, user_id) for table in tables}
    holding = [table for table, found in counts.items() if found]
    if holding:
        with _erasing(client, user_id) as selector:
            for table in holding:
                client.command(
                    f"ALTER TABLE {rows_table(client, table)} DELETE WHERE user_id IN "
                    f"(SELECT user_id FROM {selector})",
                    settings=WAIT,
                )
    left = [table for table in holding if _count(client, table, user_id)]
    if left:
        raise ErasureIncompleteError(f"rows of the user are still in {left} after their deletion")
    removed.update(counts)
    removed[DEAD_LETTERS] = _erase_dead_letters(client, user_id)
    return removed


def _count(client: Client, table: str, user_id: str) -> int:
    return int(
        client.query(
            f"SELECT count() FROM {table} WHERE user_id = {{u:String}}", parameters={"u": user_id}
        ).result_rows[0][0]
    )


class _erasing:
    """A randomly named in-memory table holding the id for the statements that need it."""

    def __init__(self, client: Client, user_id: str) -> None:
        self.client, self.user_id = client, user_id
        self.name = f"erasing_{secrets.token_hex(8)}"

    def __enter__(self) -> str:
        self.client.command(f"CREATE TABLE {self.name} (user_id String) ENGINE = Memory")
        self.client.insert(self.name, [[self.user_id]], column_names=["user_id"])
        return self.name

    def __exit__(self, *_exc) -> None:
        self.client.command(f"DROP TABLE IF EXISTS {self.name} SYNC")


def _erase_dead_letters(client: Client, user_id: str) -> int:
    """Dead letters are raw messages: those whose JSON names the user (alone or in a batch),
    or, for bytes that are not JSON, that contain the id (nothing tells whose such bytes are, so
    a short id may take other unreadable letters with it). Deleted by their log position."""
    keys = client.query(
        f"""
        SELECT topic, partition, offset FROM {DEAD_LETTERS}
        WHERE if(isValidJSON(raw),
            JSONExtractString(raw, 'user_id') = {{u:String}}
                OR has(arrayMap(e -> JSONExtractString(e, 'user_id'),
                                JSONExtractArrayRaw(raw, 'events')), {{u:String}}),
            position(raw, {{u:String}}) > 0)
        """,
        parameters={"u": user_id},
    ).result_rows
    if keys:
        client.command(
            f"ALTER TABLE {rows_table(client, DEAD_LETTERS)} DELETE WHERE "
            "(topic, partition, offset) IN {keys:Array(Tuple(String, UInt32, UInt64))}",
            parameters={"keys": [tuple(k) for k in keys]},
            settings=WAIT,
        )
    return len(keys)


def drop_leftovers(client: Client) -> int:
    """Embedded only: delete the folders of inactive parts (only parts a mutation, merge or
    dropped partition replaced are inactive: no query started after them reads them) and the
    texts of finished mutations, in every table of this database. Returns how many went."""
    paths = client.query(
        "SELECT path FROM system.parts WHERE database = currentDatabase() AND NOT active"
    ).result_columns
    removed = 0
    for path in paths[0] if paths else []:
        part = Path(path)
        if part.is_dir():
            shutil.rmtree(part, ignore_errors=True)
            removed += 1
    finished = client.query(
        """
        SELECT m.mutation_id, t.data_paths FROM system.mutations AS m
        INNER JOIN system.tables AS t ON t.database = m.database AND t.name = m.table
        WHERE m.database = currentDatabase() AND m.is_done
        """
    ).result_rows
    for mutation_id, data_paths in finished:
        for folder in data_paths:
            text = Path(folder) / mutation_id
            if text.is_file():
                text.unlink()
                removed += 1
    return removed
