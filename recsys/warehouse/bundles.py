"""A version's serving bundles: named byte blobs (`.npz`) written with the version and read when
the API loads it. The two-stage ranker's bundle is its request-time half
(`recsys.ranking.bundle`, `recsys.ranking.request_time`)."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from recsys.warehouse.exports import clear_version


def write(client: Client, model_version: str, name: str, data: bytes) -> None:
    """Replace the version's bundle `name` (a retried attempt starts clean)."""
    clear_version(client, "model_bundles", model_version)
    client.insert(
        "model_bundles",
        [[model_version, name, data]],
        column_names=["model_version", "name", "data"],
    )


def read(client: Client, model_version: str, name: str) -> bytes | None:
    rows = client.query(
        "SELECT data FROM model_bundles WHERE model_version = {v:String} AND name = {n:String}",
        parameters={"v": model_version, "n": name},
        query_formats={"String": "bytes"},
    ).result_rows
    return bytes(rows[0][0]) if rows else None
