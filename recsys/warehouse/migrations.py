"""Versioned, idempotent schema migrations, applied on start by every entry point.

Source-of-truth data (items, events) is kept apart from derived data. Derived tables carry the
`model_version` that produced each row and are partitioned by it: a new version is written in
full beside the old one, and `model_versions` says which one is published, so readers switch
from one complete version to the next with a single row insert and never see a half-written one.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from recsys.warehouse.cluster import cluster_statements
from recsys.warehouse.schema_history import MIGRATIONS


def apply_migrations(client: Client, cluster: str = "") -> list[int]:
    """Apply every migration not yet recorded; return the versions applied now. With a
    `cluster`, in the schema's cluster form (`recsys.warehouse.cluster`)."""

    def run(statement: str) -> None:
        for each in cluster_statements(statement, cluster) if cluster else [statement]:
            client.command(each)

    run(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version UInt32,
            name String,
            applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
        ) ENGINE = ReplacingMergeTree(applied_at)
        ORDER BY version
        """
    )
    applied = {row[0] for row in client.query("SELECT version FROM schema_migrations").result_rows}
    newly_applied = []
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        for statement in migration.statements:
            run(statement)
        client.insert(
            "schema_migrations",
            [[migration.version, migration.name]],
            column_names=["version", "name"],
        )
        newly_applied.append(migration.version)
    return newly_applied


def schema_version(client: Client) -> int:
    return int(client.query("SELECT max(version) FROM schema_migrations").result_rows[0][0])
