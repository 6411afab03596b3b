"""What the recommendations check reads: totals over a whole version, rows for a user sample.

A version holds top-K lists for every active user (100M rows at 2M users), so nothing here
pulls a whole version into memory: whole-table rules are aggregates computed by ClickHouse,
and row rules (nothing already seen, scores falling with rank...) are checked on the lists of
a fixed sample of users, picked by a hash of their id.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.events.ids import decode_id
from recsys.events.validity import ID_FIELDS
from recsys.warehouse.interaction_sql import user_sample_threshold


@dataclass(frozen=True)
class RecommendationTotals:
    users_served: int
    users_over_k: int  # users with more than k rows
    active_users_without_recommendations: int
    items_recommended: int
    catalogue_size: int

    @property
    def coverage(self) -> float:
        return self.items_recommended / self.catalogue_size if self.catalogue_size else 0.0


def recommendation_totals(client: Client, model_version: str, k: int) -> RecommendationTotals:
    params = {"v": model_version, "k": k}
    served, items = client.query(
        "SELECT uniqExact(user_id), uniqExact(item_id) FROM user_recommendations "
        "WHERE model_version = {v:String}",
        parameters=params,
    ).result_rows[0]
    over_k = client.query(
        """
        SELECT countIf(rows > {k:UInt32}) FROM (
            SELECT count() AS rows FROM user_recommendations WHERE model_version = {v:String}
            GROUP BY user_id
        )
        """,
        parameters=params,
    ).result_rows[0][0]
    unserved = client.query(
        """
        SELECT count() FROM (SELECT DISTINCT user_id FROM interactions WHERE confidence > 0)
        WHERE user_id NOT IN (
            SELECT user_id FROM user_recommendations WHERE model_version = {v:String}
        )
        """,
        parameters=params,
    ).result_rows[0][0]
    catalogue = client.query("SELECT uniqExact(item_id) FROM items").result_rows[0][0]
    return RecommendationTotals(
        users_served=int(served),
        users_over_k=int(over_k),
        active_users_without_recommendations=int(unserved),
        items_recommended=int(items),
        catalogue_size=int(catalogue),
    )


def recommendation_sample(client: Client, model_version: str, max_users: int) -> pd.DataFrame:
    """The rows of about `max_users` users, each with whether the user had already touched the
    item (any event, dislikes included) and whether the item is in the catalogue."""
    users = client.query(
        "SELECT uniqExact(user_id) FROM user_recommendations WHERE model_version = {v:String}",
        parameters={"v": model_version},
    ).result_rows[0][0]
    threshold = user_sample_threshold(users, max_users)
    return client.query_df(
        """
        SELECT user_id, rank, item_id, score, toString(model_version) AS model_version,
            (user_id, item_id) IN (
                SELECT user_id, item_id FROM interactions
                WHERE cityHash64(user_id) <= {threshold:UInt64}
            ) AS already_seen,
            item_id IN (SELECT item_id FROM items) AS in_catalogue
        FROM user_recommendations
        WHERE model_version = {v:String} AND cityHash64(user_id) <= {threshold:UInt64}
        ORDER BY user_id, rank
        """,
        parameters={"v": model_version, "threshold": threshold},
    ).astype({"already_seen": bool, "in_catalogue": bool})


def newest_events(client: Client, limit: int) -> pd.DataFrame:
    """The `limit` most recently stored events as training reads them (deduplicated), for the
    events check: ids exactly as stored (invalid UTF-8 as lone surrogates, see
    `recsys.events.ids.decode_id`), and a stored NaN value as +inf so that a DataFrame can tell it
    from a missing value."""
    result = client.query(
        """
        SELECT event_id, user_id, item_id, toString(event_type) AS event_type,
            if(isNaN(value), toFloat32(inf), value) AS value, timestamp, ingested_at
        FROM events FINAL ORDER BY ingested_at DESC, user_id, event_id LIMIT {n:UInt32}
        """,
        parameters={"n": limit},
        column_formats={name: "bytes" for name in ID_FIELDS},
    )
    names = [*ID_FIELDS, "event_type", "value", "timestamp", "ingested_at"]
    # Named here: an empty result carries no column names.
    columns = dict(zip(names, result.result_columns or [[]] * len(names), strict=True))
    frame = pd.DataFrame(
        {
            **{name: [decode_id(raw) for raw in columns[name]] for name in ID_FIELDS},
            "event_type": pd.Series(columns["event_type"], dtype=object),
            "value": pd.to_numeric(pd.Series(columns["value"], dtype=object)).astype(float),
            "timestamp": pd.to_datetime(pd.Series(columns["timestamp"]), utc=True),
            "ingested_at": pd.to_datetime(pd.Series(columns["ingested_at"]), utc=True),
        }
    )
    return frame


@dataclass(frozen=True)
class EventVolume:
    events_total: int  # distinct events: (user_id, event_id), as FINAL reads them
    stored_rows: int  # physical rows, re-sent events not yet merged away included
    repeated_content: int  # events whose whole content repeats another's under a new event_id


def event_volume(client: Client) -> EventVolume:
    total, repeated = client.query(
        """
        SELECT count(), count() - uniqExact(tuple(user_id, item_id, event_type, timestamp, value))
        FROM events FINAL
        """
    ).result_rows[0]
    stored = client.query("SELECT count() FROM events").result_rows[0][0]
    return EventVolume(int(total), int(stored), int(repeated))


def catalogue_for_checks(client: Client) -> pd.DataFrame:
    """(item_id, title, genres) as the items check sees them: ids exactly as stored (invalid
    UTF-8 as lone surrogates, which the id rule rejects, not as the hex text clickhouse-connect
    would render, which could pass for another id)."""
    result = client.query(
        "SELECT item_id, title, genres FROM items FINAL", column_formats={"item_id": "bytes"}
    )
    columns = result.result_columns or [[], [], []]
    return pd.DataFrame(
        {
            "item_id": [decode_id(raw) for raw in columns[0]],
            "title": pd.Series(columns[1], dtype=object),
            "genres": pd.Series(columns[2], dtype=object),
        }
    )
