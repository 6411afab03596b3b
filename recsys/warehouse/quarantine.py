"""Events left out of training, kept where a user can look at them.

The rule is `recsys.events.validity`. Writers refuse invalid rows into `quarantined_events` (origin
`writer`); rows that reached `events` some other way (an older writer, direct SQL, data from
before a rule changed) are left out by every training read through `valid_events_condition`
and listed again by each run (origin `events`). Nothing is deleted from `events`: it stays the
source of truth, and a row that a changed rule would accept is trained on by the next run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.events.ids import decode_id, original_bytes
from recsys.events.validity import FIELD_RULES, invalid_field_sql
from recsys.warehouse.cluster import rows_table

WRITER = "writer"
EVENTS = "events"
COLUMNS = (
    "origin", "field", "reason", "event_id", "user_id", "item_id", "event_type", "value",
    "timestamp", "ingested_at", "source",
)  # fmt: skip


def valid_events_condition(epoch: datetime) -> tuple[str, dict[str, object]]:
    """A WHERE condition over `events` that keeps exactly the valid rows, and its parameters."""
    invalid_field, params = invalid_field_sql(epoch)
    return f"{invalid_field} = ''", params


def rebuild_from_events(client: Client, epoch: datetime) -> dict[str, int]:
    """List the invalid rows of `events` (deduplicated, as training reads it); counts by field."""
    invalid_field, params = invalid_field_sql(epoch)
    target = rows_table(client, "quarantined_events")
    client.command(f"ALTER TABLE {target} DROP PARTITION '{EVENTS}'")
    fields = list(FIELD_RULES)
    client.command(
        f"""
        INSERT INTO quarantined_events ({", ".join(COLUMNS)})
        SELECT '{EVENTS}', field,
            transform(field, {{fields:Array(String)}}, {{rules:Array(String)}}, ''),
            event_id, user_id, item_id, toString(event_type), value, timestamp, ingested_at,
            source
        FROM (SELECT *, {invalid_field} AS field FROM events FINAL)
        WHERE field != ''
        """,
        parameters={**params, "fields": fields, "rules": [FIELD_RULES[f] for f in fields]},
    )
    return counts(client).get(EVENTS, {})


def refuse(client: Client, frame: pd.DataFrame, fields: pd.Series, source: str = "") -> int:
    """Store rows a writer refused (`fields`: each row's first invalid field), byte for byte."""
    if frame.empty:
        return 0
    now = datetime.now(UTC)
    value = pd.to_numeric(frame["value"], errors="coerce")
    timestamps = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce")
    rows = pd.DataFrame(
        {
            "origin": WRITER,
            "field": fields.to_numpy(dtype=object),
            "reason": fields.map(FIELD_RULES).to_numpy(dtype=object),
            **{name: [_raw(v) for v in frame[name]] for name in ("event_id", "user_id", "item_id")},
            "event_type": [_raw(v) for v in frame["event_type"]],
            "value": value.astype(object).where(value.notna(), None).to_numpy(),
            "timestamp": timestamps.astype(object).where(timestamps.notna(), None).to_numpy(),
            "ingested_at": now,
            "source": frame["source"].astype(str) if "source" in frame else source,
        }
    )
    client.insert_df("quarantined_events", rows)
    return len(rows)


def _raw(value: object) -> bytes:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return b""
    return original_bytes(value if isinstance(value, str) else str(value))


def counts(client: Client) -> dict[str, dict[str, int]]:
    """Quarantined rows by origin, then by field."""
    rows = client.query(
        "SELECT origin, field, count() FROM quarantined_events FINAL GROUP BY origin, field "
        "ORDER BY origin, field"
    ).result_rows
    result: dict[str, dict[str, int]] = {}
    for origin, field, n in rows:
        result.setdefault(origin, {})[field] = int(n)
    return result


def sample(client: Client, limit: int = 10) -> pd.DataFrame:
    """The newest quarantined rows, ids shown exactly (invalid bytes as \\udcXX escapes)."""
    names = ["origin", "field", "event_id", "user_id", "item_id", "event_type", "value"]
    names += ["timestamp", "source"]
    result = client.query(
        f"SELECT {', '.join(names)} FROM quarantined_events FINAL "
        "ORDER BY ingested_at DESC, event_id LIMIT {n:UInt32}",
        parameters={"n": limit},
        column_formats={c: "bytes" for c in ("event_id", "user_id", "item_id", "event_type")},
    )
    # Named here: an empty result carries no column names.
    frame = pd.DataFrame(result.result_rows, columns=names)
    for column in ("event_id", "user_id", "item_id", "event_type"):
        frame[column] = frame[column].map(lambda raw: ascii(decode_id(raw)))
    return frame
