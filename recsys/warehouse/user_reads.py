"""One user's history and activity: primary-key reads for the API's request path.

Every statement is parameterised; callers pass a clickhouse-connect client from
`Warehouse.session()`, so each unit of work holds the embedded warehouse only briefly.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.warehouse.interaction_sql import PAIRS_SQL, confidence_sql
from recsys.warehouse.quarantine import valid_events_condition


def user_interactions(
    client: Client,
    user_id: str,
    weights: dict[str, float],
    epoch: datetime,
    half_life_days: float = 0.0,
    decay_reference: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One user's (item_id, confidence, disliked, strongest event type) from all their valid
    events, as training computes it.

    A primary-key read (events are ordered by user). Decay counts age from the later of the
    training data's newest event and the user's own newest event.
    """
    reference_ms = int(decay_reference.timestamp() * 1000) if decay_reference is not None else 0
    weight, params = confidence_sql(
        weights,
        half_life_days,
        "greatest(fromUnixTimestamp64Milli({reference_ms:Int64}, 'UTC'), "
        "(SELECT max(timestamp) FROM events WHERE user_id = {user:String}))",
    )
    valid, valid_params = valid_events_condition(epoch)
    params.update(valid_params)
    sql = PAIRS_SQL.replace("{weight}", weight).replace(
        "{where}", f"user_id = {{user:String}} AND {valid}"
    )
    # One thread: a handful of rows gains nothing from parallel reads; plain result columns
    # instead of query_df save a millisecond on the API's request path.
    result = client.query(
        f"SELECT item_id, confidence, disliked, strongest, "
        f"toUnixTimestamp64Milli(last_at) / 1000, rating FROM ({sql})",
        parameters={**params, "user": user_id, "reference_ms": reference_ms},
        settings={"max_threads": 1},
    )
    columns = result.result_columns or [[], [], [], [], [], []]
    return pd.DataFrame(
        {
            "item_id": pd.Series(columns[0], dtype=object),
            "confidence": np.asarray(columns[1], dtype=np.float32),
            "disliked": np.asarray(columns[2], dtype=np.uint8),
            "strongest": pd.Series(columns[3], dtype=object),  # the event type weighing most
            "last_at": np.asarray(columns[4], dtype=np.float64),  # epoch seconds
            "rating": np.asarray([np.nan if r is None else r for r in columns[5]], np.float64),
        }
    )


def user_activity(client: Client, user_id: str, recent: int = 10) -> dict:
    """A user's event counts by type, first and last event time, and most recent events."""
    counts = client.query(
        "SELECT toString(event_type), count(), min(timestamp), max(timestamp) "
        "FROM events FINAL WHERE user_id = {user:String} GROUP BY event_type",
        parameters={"user": user_id},
        settings={"max_threads": 1},
    ).result_rows
    latest = client.query(
        "SELECT item_id, toString(event_type), value, timestamp FROM events FINAL "
        "WHERE user_id = {user:String} ORDER BY timestamp DESC, event_id LIMIT {n:UInt32}",
        parameters={"user": user_id, "n": recent},
        settings={"max_threads": 1},
    ).result_rows
    return {
        "counts": {event_type: int(n) for event_type, n, _, _ in counts},
        "first": min((first for _, _, first, _ in counts), default=None),
        "last": max((last for _, _, _, last in counts), default=None),
        "recent": latest,
    }
