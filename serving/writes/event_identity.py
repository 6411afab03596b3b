"""An event's identity is `(user_id, event_id)`: a retry with the same content is the same event,
another event under a used identity is a conflict (409), never a silent overwrite.

Only identities the client chose are checked (a fresh id is new by construction). "The same
content" is what the client sent: the item, the type, the value, the list it came from, and
the time when it sent one (a retry without a timestamp would otherwise differ by its own
clock). A repeat is not written again, so the stored event keeps its first time. The check and
the insert share one warehouse session: embedded, that is one exclusive lock, so no other
writer comes between them; on a server two racing requests can still both pass.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from clickhouse_connect.driver.client import Client


class EventConflict(Exception):
    """Identities already stored with other content; the message names them."""


def settle_repeats(
    client: Client, rows: list[dict], claimed: dict[tuple[str, str], bool]
) -> tuple[list[dict], int]:
    """(rows still to write, repeats of stored events left out). `claimed` maps the identities
    the client chose to whether it sent their time. Raises EventConflict."""
    keys = [key for key in ((r["user_id"], r["event_id"]) for r in rows) if key in claimed]
    if not keys:
        return rows, 0
    stored = {
        (user, event): rest
        for user, event, *rest in client.query(
            "SELECT user_id, event_id, item_id, event_type, value, timestamp, request_id "
            "FROM events FINAL WHERE (user_id, event_id) IN {keys:Array(Tuple(String, String))}",
            parameters={"keys": keys},
        ).result_rows
    }
    to_write, conflicts = [], []
    for row in rows:
        key = (row["user_id"], row["event_id"])
        before = stored.get(key)
        if before is None:
            to_write.append(row)
        elif not _same(row, before, timed=claimed.get(key, False)):
            conflicts.append(f"{row['event_id']!r} of user {row['user_id']!r}")
    if conflicts:
        named = ", ".join(conflicts[:5]) + (
            f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        )
        raise EventConflict(
            f"event_id {named} already stored with other content; nothing was stored: "
            "send a new event_id for a new event (the same content again is a harmless retry)"
        )
    return to_write, len(rows) - len(to_write)


def _same(row: dict, before: list, timed: bool) -> bool:
    item_id, event_type, value, timestamp, request_id = before
    if (row["item_id"], row["event_type"]) != (item_id, event_type):
        return False
    if (row["value"] is None) != (value is None):
        return False
    if value is not None and np.float32(row["value"]) != np.float32(value):
        return False
    if row["request_id"] and row["request_id"] != request_id:
        return False
    return not timed or _ms(row["timestamp"]) == _ms(timestamp)


def _ms(moment: datetime) -> datetime:
    """To the millisecond, as the warehouse keeps it, in UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)
