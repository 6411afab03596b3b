"""A version's serving bundles: named byte blobs (`.npz`) written with the version and read when
the API loads it. A family's `serving_bundles` makes them (`recsys.models.lifecycle`); the API
loads each through the second stage registered under its name (`recsys.foldin.second_stage`):
the two-stage ranker's bundle is its request-time half (`recsys.ranking.bundle`)."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from recsys.warehouse.exports import clear_version


def write_all(client: Client, model_version: str, bundles: dict[str, bytes]) -> None:
    """Replace the version's bundles with `bundles` (a retried attempt starts clean)."""
    clear_version(client, "model_bundles", model_version)
    if bundles:
        client.insert(
            "model_bundles",
            [[model_version, name, data] for name, data in sorted(bundles.items())],
            column_names=["model_version", "name", "data"],
        )


def read_all(client: Client, model_version: str) -> dict[str, bytes]:
    """The version's bundles by name (none for a family without request-time data)."""
    rows = client.query(
        "SELECT name, data FROM model_bundles WHERE model_version = {v:String} ORDER BY name",
        parameters={"v": model_version},
        query_formats={"String": "bytes"},
    ).result_rows
    return {_text(name): bytes(data) for name, data in rows}


def _text(name: bytes | str) -> str:
    return name.decode() if isinstance(name, bytes) else name
