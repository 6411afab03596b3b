"""Events into one confidence per (user, item): the SQL training and fold-in share, the
interactions table built from it, and the reads that train and evaluate on it.

Every statement is parameterised; callers pass a clickhouse-connect client from
`Warehouse.session()`, so each unit of work holds the embedded warehouse only briefly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.warehouse.cluster import rebuild
from recsys.warehouse.quarantine import valid_events_condition


def event_weight_sql(weights: dict[str, float]) -> tuple[str, dict[str, object]]:
    """SQL for one event's confidence (ratings scale by their stars), and its bound parameters."""
    flat_types = [t for t in weights if t != "rating"]
    sql = (
        "if(event_type = 'rating', {rating_weight:Float64} * coalesce(value, 0), "
        "transform(toString(event_type), {types:Array(String)}, {type_weights:Array(Float64)}, 0.))"
    )
    return sql, {
        "rating_weight": float(weights.get("rating", 1.0)),
        "types": flat_types,
        "type_weights": [float(weights[t]) for t in flat_types],
    }


def confidence_sql(
    weights: dict[str, float], half_life_days: float = 0.0, reference_sql: str = ""
) -> tuple[str, dict[str, object]]:
    """SQL for one event's confidence, decayed by its age before `reference_sql` if asked."""
    weight, params = event_weight_sql(weights)
    if half_life_days > 0:
        weight = (
            f"{weight} * exp(-dateDiff('second', timestamp, {reference_sql}) "
            "/ {decay_seconds:Float64})"
        )
        params["decay_seconds"] = half_life_days * 86_400 / math.log(2)
    return weight, params


# One row per (user, item) from events: confidence (0 when disliked), counts, time, rating.
# `{weight}` and `{where}` are filled in by the callers below, always with bound parameters.
PAIRS_SQL = """
    SELECT
        user_id,
        item_id,
        toFloat32(if(countIf(event_type = 'dislike') > 0, 0, sum(weight))) AS confidence,
        toUInt32(count()) AS events,
        toUInt8(countIf(event_type = 'dislike') > 0) AS disliked,
        max(timestamp) AS last_at,
        CAST(maxIf(value, event_type = 'rating') AS Nullable(Float32)) AS rating,
        argMax(toString(event_type), weight) AS strongest
    FROM (
        SELECT user_id, item_id, event_type, timestamp, value, {weight} AS weight
        FROM events FINAL
        WHERE {where}
    )
    GROUP BY user_id, item_id
"""


def rebuild_interactions(
    client: Client, weights: dict[str, float], epoch: datetime, half_life_days: float = 0.0
) -> int:
    """Aggregate events into one confidence per (user, item), build-then-swap.

    Ratings add `weight * stars`; other types add their weight. With a half-life, each event's
    weight halves for every `half_life_days` it is older than the newest event. A pair with any
    dislike keeps a row (so it is never recommended back) with confidence 0. Events about items
    missing from the catalogue stay in the log but are left out here: nothing can show or
    recommend them. Invalid events (see `recsys.events.validity`) are left out.
    """
    valid, valid_params = valid_events_condition(epoch)
    weight, params = confidence_sql(
        weights, half_life_days, f"(SELECT max(timestamp) FROM events FINAL WHERE {valid})"
    )
    plan = rebuild(client, "interactions")
    for statement in plan.prepare:
        client.command(statement)
    pairs = PAIRS_SQL.replace("{weight}", weight).replace(
        "{where}", f"item_id IN (SELECT item_id FROM items) AND {valid}"
    )
    client.command(
        f"INSERT INTO {plan.target} "
        "(user_id, item_id, confidence, events, disliked, last_at, rating) "
        f"SELECT user_id, item_id, confidence, events, disliked, last_at, rating FROM ({pairs})",
        parameters={**params, **valid_params},
    )
    for statement in plan.swap:
        client.command(statement)
    # SYNC: the old data goes now, not after the Atomic database's 8-minute delay (an erased
    # user's pairs must not outlive the rebuild that left them out).
    for statement in plan.clean:
        client.command(statement)
    return int(client.query("SELECT count() FROM interactions").result_rows[0][0])


def newest_event_time(client: Client, epoch: datetime) -> pd.Timestamp | None:
    """The newest valid event's time (an event stamped far ahead is invalid, and ignored)."""
    valid, params = valid_events_condition(epoch)
    value = client.query(
        f"SELECT max(timestamp), count() FROM events FINAL WHERE {valid}", parameters=params
    ).result_rows[0]
    return pd.Timestamp(value[0], tz="UTC") if value[1] else None


def stream_interactions(client: Client, block_rows: int = 1_000_000) -> Iterator[pd.DataFrame]:
    """(user_id, item_id, confidence, disliked) in blocks, for building the sparse matrix."""
    with client.query_df_stream(
        "SELECT user_id, item_id, confidence, disliked FROM interactions ORDER BY user_id, item_id",
        settings={"max_block_size": block_rows},
    ) as stream:
        yield from stream


def user_sample_threshold(users: int, max_users: int) -> int:
    """The `cityHash64(user_id) <= threshold` that keeps about `max_users` of `users` users:
    the same users every run, and whole users (never part of one's history)."""
    if not max_users or users <= max_users:
        return 2**64 - 1
    return int(2**64 * max_users / users)


def interaction_pairs(client: Client, max_users: int = 0) -> tuple[pd.DataFrame, int]:
    """(user, item) pairs with confidence, dislike flag, time and rating, for evaluation, and
    how many users there are in all.

    With `max_users`, only a sample of about that many users is read (see
    `user_sample_threshold`), so the cost of model selection stays bounded however large the
    event log grows.
    """
    users = int(client.query("SELECT uniqExact(user_id) FROM interactions").result_rows[0][0])
    sample = client.query_df(
        "SELECT user_id, item_id, confidence, disliked, last_at, rating FROM interactions "
        "WHERE cityHash64(user_id) <= {threshold:UInt64}",
        parameters={"threshold": user_sample_threshold(users, max_users)},
    )
    return sample, users
