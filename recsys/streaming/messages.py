"""Kafka messages into events and dead letters.

A message's value is what `POST /events` takes: one event, or `{"events": [...]}`. A message is
stored whole or not at all, as a request is: one that is not JSON, not an event, or holds an
event that breaks the rule (`recsys.events.validity`) becomes one dead letter with the reason.

A redelivered message must be the *same* events, so nothing is drawn at random or from the
clock: an event without an `event_id` gets `topic/partition/offset` (plus `/index` inside a
batch), and one without a `timestamp` the message's own timestamp.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
from pydantic import TypeAdapter, ValidationError

from recsys.events.payloads import EventBatch, EventsPayload
from recsys.events.validity import UNIX_EPOCH, event_problem, invalid_fields, stored_time
from recsys.events.vocabulary import EVENT_COLUMNS
from recsys.warehouse.dead_letters import DeadLetter

PAYLOAD = TypeAdapter(EventsPayload)
SOURCE = "kafka"


@dataclass(frozen=True)
class Record:
    """What the decoder needs of a consumed message."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp_ms: int | None  # the message's own (create or log-append) time

    @property
    def moment(self) -> datetime | None:
        if self.timestamp_ms is None or self.timestamp_ms <= 0:
            return None
        return UNIX_EPOCH + timedelta(milliseconds=self.timestamp_ms)

    def letter(self, reason: str) -> DeadLetter:
        return DeadLetter(
            self.topic, self.partition, self.offset, self.value or b"", reason, self.moment
        )


@dataclass(frozen=True)
class Decoded:
    events: pd.DataFrame  # EVENT_COLUMNS, every row valid
    rejected: list[DeadLetter]


def decode(
    records: Sequence[Record],
    epoch: datetime,
    now: datetime | None = None,
    withdrawn: Callable[[str], str | None] = lambda item_id: None,
) -> Decoded:
    """The valid events of `records` and a dead letter for every message that is not.

    `withdrawn(item_id)` says why an item may not be the subject of a new event (deleted,
    hidden, outside its window), as the API refuses them."""
    now = now or datetime.now(UTC)
    rows: list[dict] = []
    owners: list[int] = []  # per row, the index of its record
    rejected: dict[int, DeadLetter] = {}
    for index, record in enumerate(records):
        try:
            payload = PAYLOAD.validate_json(record.value or b"")
        except ValidationError as error:
            rejected[index] = record.letter(shape_reason(error, "not an event"))
            continue
        events = payload.events if isinstance(payload, EventBatch) else [payload]
        batch = isinstance(payload, EventBatch)
        for position, event in enumerate(events):
            default_id = f"{record.topic}/{record.partition}/{record.offset}"
            rows.append(
                {
                    "event_id": event.event_id
                    or (f"{default_id}/{position}" if batch else default_id),
                    "user_id": event.user_id,
                    "item_id": event.item_id,
                    "event_type": event.event_type,
                    "value": event.value,
                    "timestamp": stored_time(event.timestamp or record.moment or now),
                    "source": SOURCE,
                    "request_id": event.request_id or "",
                }
            )
            owners.append(index)
    frame = pd.DataFrame(rows, columns=[*EVENT_COLUMNS, "request_id"])
    if len(frame):
        fields = invalid_fields(frame, epoch, now)
        for row in frame.index[(fields != "").to_numpy()]:
            index = owners[row]
            if index not in rejected:  # the message's first bad event names the reason
                problem = event_problem(rows[row], epoch, now)
                field, why = problem or (fields[row], "is invalid")
                rejected[index] = records[index].letter(f"{field} {why}")
        for row, item_id in enumerate(frame["item_id"]):
            problem = withdrawn(item_id)
            if problem and owners[row] not in rejected:
                rejected[owners[row]] = records[owners[row]].letter(
                    f"item_id {item_id!r} is {problem}"
                )
        keep = [index not in rejected for index in owners]
        frame = frame[keep].reset_index(drop=True)
    return Decoded(frame, [rejected[i] for i in sorted(rejected)])


def shape_reason(error: ValidationError, what: str) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    loc = [str(part) for part in first["loc"] if part not in ("single", "batch")]  # union tags
    where = ".".join(loc) or "message"
    return f"{what}: {where}: {first['msg']}"
