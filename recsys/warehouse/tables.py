"""Reads and writes of the source tables (items, events) and the derived interactions.

Every statement is parameterised; callers pass a clickhouse-connect client from
`Warehouse.session()` so that each unit of work holds the embedded warehouse only briefly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.events import EVENT_COLUMNS, ITEM_COLUMNS
from recsys.validity import invalid_fields
from recsys.warehouse import quarantine
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.quarantine import valid_events_condition


def insert_items(client: Client, items: pd.DataFrame) -> int:
    frame = items.loc[:, list(ITEM_COLUMNS)].copy()
    frame["year"] = frame["year"].astype("object").where(frame["year"].notna(), None)
    client.insert_df("items", frame)
    return len(frame)


def insert_events(client: Client, events: pd.DataFrame) -> int:
    """Store events as given (callers validate: `load_event_stream`, the API). Times are
    floored to whole milliseconds, as the rule judges them; a missing value is NULL."""
    frame = events.loc[:, list(EVENT_COLUMNS)]
    frame = frame.assign(
        value=frame["value"].astype("object").where(frame["value"].notna(), None),
        timestamp=pd.to_datetime(frame["timestamp"], utc=True).dt.floor("ms"),
    )
    client.insert_df("events", frame)
    return len(frame)


def dataset_loaded(client: Client, fingerprint: str) -> bool:
    rows = client.query(
        "SELECT count() FROM dataset_loads WHERE fingerprint = {fp:String}",
        parameters={"fp": fingerprint},
    ).result_rows
    return rows[0][0] > 0


def record_dataset_load(
    client: Client, fingerprint: str, dataset: str, items: int, events: int
) -> None:
    client.insert(
        "dataset_loads",
        [[fingerprint, dataset, items, events]],
        column_names=["fingerprint", "dataset", "items", "events"],
    )


def load_event_stream(
    warehouse: Warehouse,
    chunks: Iterable[pd.DataFrame],
    epoch: datetime,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Insert chunks one session each, so other processes get the warehouse in between.

    Rows that break the event rule (`recsys.validity`) go to `quarantined_events` instead:
    what a writer stores in `events` is always trainable. Returns (stored, refused).
    """
    stored = refused = 0
    for chunk in chunks:
        fields = invalid_fields(chunk, epoch, datetime.now(UTC))
        bad = (fields != "").to_numpy()
        with warehouse.session() as client:
            if bad.any():
                refused += quarantine.refuse(client, chunk[bad], fields[bad])
            if not bad.all():
                stored += insert_events(client, chunk[~bad] if bad.any() else chunk)
        if on_chunk:
            on_chunk(stored + refused)
    return stored, refused


def event_counts_by_type(client: Client) -> dict[str, int]:
    rows = client.query(
        "SELECT event_type, count() FROM events FINAL GROUP BY event_type ORDER BY event_type"
    ).result_rows
    return {event_type: int(n) for event_type, n in rows}


def events_with_unknown_items(client: Client) -> int:
    """Events whose item is not in the catalogue (kept in the log, left out of training)."""
    return int(
        client.query(
            "SELECT count() FROM events WHERE item_id NOT IN (SELECT item_id FROM items)"
        ).result_rows[0][0]
    )


def latest_ingestion(client: Client) -> pd.Timestamp | None:
    value = client.query("SELECT max(ingested_at), count() FROM events").result_rows[0]
    return pd.Timestamp(value[0], tz="UTC") if value[1] else None


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
_PAIRS_SQL = """
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
    recommend them. Invalid events (see `recsys.validity`) are left out.
    """
    valid, valid_params = valid_events_condition(epoch)
    weight, params = confidence_sql(
        weights, half_life_days, f"(SELECT max(timestamp) FROM events FINAL WHERE {valid})"
    )
    client.command("DROP TABLE IF EXISTS interactions__next")
    client.command("CREATE TABLE interactions__next AS interactions")
    pairs = _PAIRS_SQL.replace("{weight}", weight).replace(
        "{where}", f"item_id IN (SELECT item_id FROM items) AND {valid}"
    )
    client.command(
        "INSERT INTO interactions__next "
        "(user_id, item_id, confidence, events, disliked, last_at, rating) "
        f"SELECT user_id, item_id, confidence, events, disliked, last_at, rating FROM ({pairs})",
        parameters={**params, **valid_params},
    )
    client.command("EXCHANGE TABLES interactions__next AND interactions")
    client.command("DROP TABLE interactions__next")
    return int(client.query("SELECT count() FROM interactions").result_rows[0][0])


def newest_event_time(client: Client, epoch: datetime) -> pd.Timestamp | None:
    """The newest valid event's time (an event stamped far ahead is invalid, and ignored)."""
    valid, params = valid_events_condition(epoch)
    value = client.query(
        f"SELECT max(timestamp), count() FROM events FINAL WHERE {valid}", parameters=params
    ).result_rows[0]
    return pd.Timestamp(value[0], tz="UTC") if value[1] else None


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
    sql = _PAIRS_SQL.replace("{weight}", weight).replace(
        "{where}", f"user_id = {{user:String}} AND {valid}"
    )
    # One thread: a handful of rows gains nothing from parallel reads; plain result columns
    # instead of query_df save a millisecond on the API's request path.
    result = client.query(
        f"SELECT item_id, confidence, disliked, strongest FROM ({sql})",
        parameters={**params, "user": user_id, "reference_ms": reference_ms},
        settings={"max_threads": 1},
    )
    columns = result.result_columns or [[], [], [], []]
    return pd.DataFrame(
        {
            "item_id": pd.Series(columns[0], dtype=object),
            "confidence": np.asarray(columns[1], dtype=np.float32),
            "disliked": np.asarray(columns[2], dtype=np.uint8),
            "strongest": pd.Series(columns[3], dtype=object),  # the event type weighing most
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


def catalogue(client: Client) -> pd.DataFrame:
    return client.query_df("SELECT item_id, title, genres, tags, year FROM items FINAL")
