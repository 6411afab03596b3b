"""Reads by ingestion time: how many events arrived since a moment, and from whom (the
retrain sensor's count, the API's sweep for other writers' events).

Every statement is parameterised; callers pass a clickhouse-connect client from
`Warehouse.session()`, so each unit of work holds the embedded warehouse only briefly.
"""

from __future__ import annotations

import pandas as pd
from clickhouse_connect.driver.client import Client


def latest_ingestion(client: Client) -> pd.Timestamp | None:
    value = client.query("SELECT max(ingested_at), count() FROM events").result_rows[0]
    return pd.Timestamp(value[0], tz="UTC") if value[1] else None


def events_ingested_since(client: Client, since: pd.Timestamp) -> tuple[int, pd.Timestamp | None]:
    """How many events were stored after `since`, and the newest ingestion time among them.

    Reads only the newest granules (minmax index on ingested_at); re-sent duplicates not yet
    merged away count twice, which is harmless for a retrain threshold.
    """
    count, newest = client.query(
        "SELECT count(), max(ingested_at) FROM events "
        "WHERE ingested_at > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')",
        parameters={"since_ms": _millis(since)},
    ).result_rows[0]
    return int(count), (pd.Timestamp(newest, tz="UTC") if count else None)


def users_ingested_since(client: Client, since: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """Users with events stored after `since`, each with their newest ingestion time."""
    rows = client.query(
        "SELECT user_id, max(ingested_at) FROM events "
        "WHERE ingested_at > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') GROUP BY user_id",
        parameters={"since_ms": _millis(since)},
    ).result_rows
    return {user: pd.Timestamp(newest, tz="UTC") for user, newest in rows}


def _millis(moment: pd.Timestamp) -> int:
    return int(pd.Timestamp(moment).timestamp() * 1000)
