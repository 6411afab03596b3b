"""An event as clients send it: the body of `POST /events` and the value of a Kafka message.

One event, or `{"events": [...]}` with up to MAX_BATCH. Parsing here is only the shape; the
event rule (`recsys.events.validity`) decides what is valid, the same for every way in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from recsys.events.validity import MAX_ID_LENGTH
from recsys.events.vocabulary import EVENT_TYPES

# Ids are checked by the event rule (recsys.events.validity) in the router, so that the API accepts
# exactly what training will use; here only a parse bound, far above the rule's limit.
Id = Annotated[str, Field(max_length=64 * MAX_ID_LENGTH)]
EventType = Literal[EVENT_TYPES]  # one vocabulary: recsys.events.vocabulary
MAX_BATCH = 10_000
# What the API hands out as a list's request_id (hex), with room for a platform's own ids.
RequestId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class EventIn(BaseModel):
    """One user event. `timestamp` defaults to now and `event_id` to a fresh id.

    Ids: 1-256 characters, no control characters, no space at either end, never trimmed.
    """

    model_config = ConfigDict(extra="forbid")

    user_id: Id
    item_id: Id
    event_type: EventType
    value: float | None = Field(default=None, description="Stars for ratings; else 0..1")
    timestamp: datetime | None = Field(
        default=None,
        description="ISO 8601 or Unix seconds; not before RECSYS_QUALITY_EPOCH, not more than "
        "5 minutes ahead",
    )
    event_id: Id | None = Field(default=None, description="Give one to make retries idempotent")
    request_id: RequestId | None = Field(
        default=None,
        description="The request_id of the list the item was chosen from, when it was: the "
        "engagement is attributed to that list (else to the user's last list showing the item)",
    )


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


def _payload_shape(payload: object) -> str:
    return "batch" if isinstance(payload, dict) and "events" in payload else "single"


EventsPayload = Annotated[
    Annotated[EventBatch, Tag("batch")] | Annotated[EventIn, Tag("single")],
    Discriminator(_payload_shape),
]
