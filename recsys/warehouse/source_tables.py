"""Writes to the source tables (items, events, dataset loads) and whole-table facts
about them; the catalogue as the pipeline reads it.

Every statement is parameterised; callers pass a clickhouse-connect client from
`Warehouse.session()`, so each unit of work holds the embedded warehouse only briefly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.events.validity import invalid_fields
from recsys.events.vocabulary import EVENT_COLUMNS, ITEM_COLUMNS
from recsys.warehouse import item_reads, quarantine
from recsys.warehouse.connection import Warehouse

LIFECYCLE_COLUMNS = ("available_from", "available_until", "hidden", "deleted")


def insert_items(client: Client, items: pd.DataFrame) -> int:
    """Load a dataset's items. Items the catalogue already gave a lifecycle (hidden, deleted,
    a window) keep it: reloading a dataset must not bring back what an editor withdrew."""
    frame = items.loc[:, list(ITEM_COLUMNS)].copy()
    frame["year"] = frame["year"].astype("object").where(frame["year"].notna(), None)
    kept = pd.DataFrame(
        item_reads.lifecycle_rows(client), columns=["item_id", *LIFECYCLE_COLUMNS]
    ).set_index("item_id")
    if len(kept):
        lifecycle = kept.reindex(frame["item_id"])
        for column in LIFECYCLE_COLUMNS:
            values = lifecycle[column].to_numpy()
            if column in ("hidden", "deleted"):
                values = pd.Series(values).fillna(0).astype("uint8").to_numpy()
            frame[column] = values
    client.insert_df("items", frame)
    return len(frame)


def insert_events(client: Client, events: pd.DataFrame) -> int:
    """Store events as given (callers validate: `load_event_stream`, the API). Times are
    floored to whole milliseconds, as the rule judges them; a missing value is NULL."""
    # request_id ties an engagement to the list it came from (API and Kafka events carry it).
    extra = ["request_id"] if "request_id" in events.columns else []
    frame = events.loc[:, [*EVENT_COLUMNS, *extra]]
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

    Rows that break the event rule (`recsys.events.validity`) go to `quarantined_events` instead:
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
