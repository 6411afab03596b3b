"""The schema's cluster form, for a ClickHouse cluster (`RECSYS_CLICKHOUSE_CLUSTER`).

    every table T  ->  T_local ON CLUSTER c: the Replicated twin of T's engine (rows, one
                       replica set per shard; Keeper path /clickhouse/tables/{uuid}/{shard},
                       as ClickHouse advises for Atomic databases: a table made AS another,
                       or swapped with EXCHANGE, keeps a path of its own)
                   ->  T ON CLUSTER c: Distributed(c, db, T_local, shard key) in front, under
                       T's own name, so every query the project runs reads and writes it as is
    shard key      ->  cityHash64(user_id) where a table has users, else cityHash64(item_id),
                       else a hash of its sort key: rows that replace each other (the
                       ReplacingMergeTree key) always land on one shard
    ALTER T ...    ->  ALTER TABLE T_local ON CLUSTER c ...; a column change also reaches T

The embedded and single-server forms are the migrations as written; this module only rewrites
them. Statements it cannot place raise, so a new kind of migration fails in tests, not on a
cluster. Writes through the Distributed tables are synchronous and wait for a quorum of
replicas, and readers ask for sequential consistency (`Warehouse` sets both), so nobody reads
the published pointer before the rows it points to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from clickhouse_connect.driver.client import Client

LOCAL_SUFFIX = "_local"
KEEPER_PATH = "/clickhouse/tables/{uuid}/{shard}"
# Server settings of every query on a cluster (in place of async inserts, which batch on one
# node): an insert through a Distributed table returns once every shard's part is written to a
# majority of its replicas; a read goes to replicas that hold every quorum-written part.
SESSION_SETTINGS = {
    "insert_quorum": "auto",
    "select_sequential_consistency": 1,
    "distributed_foreground_insert": 1,
}

_CREATE = re.compile(
    r"^\s*CREATE TABLE IF NOT EXISTS (?P<name>\w+)\s*\((?P<columns>.*)\)\s*"
    r"ENGINE\s*=\s*(?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$",
    re.S,
)
_ALTER = re.compile(r"^\s*ALTER TABLE (?P<name>\w+) (?P<action>.*)$", re.S)
_COLUMN_CHANGE = re.compile(r"^(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b", re.I)
_ORDER_BY = re.compile(r"\bORDER BY\s+(?P<key>\([^)]*\)|[^\s]+)")


def check_name(cluster: str) -> str:
    """`cluster`, if it can stand in DDL as it is (it is spliced into ON CLUSTER clauses)."""
    if not re.fullmatch(r"\w+", cluster):
        raise ValueError(f"cluster name must be letters, digits or _, got {cluster!r}")
    return cluster


def cluster_statements(statement: str, cluster: str) -> list[str]:
    """`statement` (one migration statement) as the statements that make it on `cluster`."""
    check_name(cluster)
    created = _CREATE.match(statement)
    if created:
        return _create(cluster, **created.groupdict())
    altered = _ALTER.match(statement)
    if altered:
        name, action = altered["name"], altered["action"].strip()
        statements = [f"ALTER TABLE {name}{LOCAL_SUFFIX} ON CLUSTER {cluster} {action}"]
        if _COLUMN_CHANGE.match(action):
            statements.append(f"ALTER TABLE {name} ON CLUSTER {cluster} {action}")
        return statements
    raise ValueError(f"no cluster form for this migration statement: {statement.strip()[:80]}")


def shard_key(columns: str, rest: str) -> str:
    """How rows of a table with `columns` (its column list) and `rest` (what follows its
    engine) are spread over shards."""
    for column in ("user_id", "item_id"):
        if re.search(rf"^\s*{column}\s", columns, re.M):
            return f"cityHash64({column})"
    ordered = _ORDER_BY.search(rest)
    if ordered is None:
        raise ValueError("a table without users, items or a sort key has no shard key")
    return f"cityHash64({ordered['key'].strip('()')})"


def _create(cluster: str, name: str, columns: str, engine: str, args: str | None, rest: str):
    local = f"{name}{LOCAL_SUFFIX}"
    replicated_args = ", ".join(
        [f"'{KEEPER_PATH}'", "'{replica}'", *([args.strip()] if args else [])]
    )
    return [
        f"CREATE TABLE IF NOT EXISTS {local} ON CLUSTER {cluster} ({columns}) "
        f"ENGINE = Replicated{engine}({replicated_args}){rest}",
        f"CREATE TABLE IF NOT EXISTS {name} ON CLUSTER {cluster} AS {local} "
        f"ENGINE = Distributed({cluster}, currentDatabase(), {local}, "
        f"{shard_key(columns, rest)})",
    ]


@dataclass(frozen=True)
class Distributed:
    """Where a Distributed table's rows are: its cluster, its local table, its shard key."""

    cluster: str
    local: str
    key: str


_DISTRIBUTED = re.compile(
    r"^Distributed\(\s*'?(?P<cluster>\w+)'?\s*,\s*[^,]+,\s*'?(?P<local>\w+)'?\s*,\s*"
    r"(?P<key>.+?)\)\s*(?:SETTINGS .*)?$",
    re.S,
)


def distributed(engine_full: str) -> Distributed | None:
    """`system.tables.engine_full` of a Distributed table, read; None for any other engine."""
    found = _DISTRIBUTED.match(engine_full.strip())
    return Distributed(found["cluster"], found["local"], found["key"].strip()) if found else None


def _engine_of(client: Client, table: str) -> Distributed | None:
    found = client.query(
        "SELECT engine_full FROM system.tables "
        "WHERE database = currentDatabase() AND name = {t:String}",
        parameters={"t": table},
    ).result_rows
    return distributed(found[0][0]) if found else None


def rows_table(client: Client, table: str) -> str:
    """What DDL on `table`'s rows (dropping a partition, a DELETE mutation) names: `table`
    itself, or on a cluster (a Distributed `table`) its local tables on every node."""
    front = _engine_of(client, table)
    return table if front is None else f"{front.local} ON CLUSTER {front.cluster}"


@dataclass(frozen=True)
class Rebuild:
    """Building `table` anew beside the live one, then swapping it in at once: `prepare`,
    insert into `target`, `swap`, `clean`."""

    target: str
    prepare: list[str]
    swap: list[str]
    clean: list[str]


def rebuild(client: Client, table: str) -> Rebuild:
    """The statements that rebuild `table` with one atomic swap, on one node or a cluster
    (there the local tables swap on every node; the Distributed table keeps its name)."""
    scratch = f"{table}__next"
    front = _engine_of(client, table)
    if front is None:
        return Rebuild(
            scratch,
            [f"DROP TABLE IF EXISTS {scratch} SYNC", f"CREATE TABLE {scratch} AS {table}"],
            [f"EXCHANGE TABLES {scratch} AND {table}"],
            [f"DROP TABLE {scratch} SYNC"],
        )
    on = f"ON CLUSTER {front.cluster}"
    scratch_local = f"{scratch}{LOCAL_SUFFIX}"
    drop = [
        f"DROP TABLE IF EXISTS {scratch} {on} SYNC",
        f"DROP TABLE IF EXISTS {scratch_local} {on} SYNC",
    ]
    return Rebuild(
        scratch,
        [
            *drop,
            f"CREATE TABLE {scratch_local} {on} AS {front.local}",
            f"CREATE TABLE {scratch} {on} AS {front.local} ENGINE = Distributed("
            f"{front.cluster}, currentDatabase(), {scratch_local}, {front.key})",
        ],
        [f"EXCHANGE TABLES {scratch_local} AND {front.local} {on}"],
        drop,
    )
