"""`events_rejected`: messages a stream consumer could not store, with the reason and where they
were in the log (topic, partition, offset). A redelivered message is one row (the table is
keyed by its log position)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from clickhouse_connect.driver.client import Client

COLUMNS = ("topic", "partition", "offset", "raw", "reason", "message_at")


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    raw: bytes
    reason: str
    message_at: datetime | None = None


def record(client: Client, letters: Sequence[DeadLetter]) -> int:
    if not letters:
        return 0
    client.insert(
        "events_rejected",
        [[getattr(letter, column) for column in COLUMNS] for letter in letters],
        column_names=list(COLUMNS),
    )
    return len(letters)
