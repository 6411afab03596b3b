"""Event ingestion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException

from recsys.warehouse.lock import WarehouseBusyError
from serving.dependencies import StateDep
from serving.schemas import EventBatch, EventIn, EventsAccepted, EventsPayload

router = APIRouter(tags=["events"])


@router.post("/events", response_model=EventsAccepted)
def post_events(payload: EventsPayload, state: StateDep) -> EventsAccepted:
    """Store one event or `{"events": [...]}`; answers once they are durably stored."""
    events: list[EventIn] = payload.events if isinstance(payload, EventBatch) else [payload]
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": event.event_id or uuid.uuid4().hex,
            "user_id": event.user_id,
            "item_id": event.item_id,
            "event_type": event.event_type,
            "value": event.value,
            "timestamp": event.timestamp or now,
            "source": "api",
        }
        for event in events
    ]
    try:
        accepted = state.store_events(rows)
    except WarehouseBusyError as error:
        # Nothing was written; the client may retry (with the same event ids, idempotently).
        raise HTTPException(
            status_code=503, detail=str(error), headers={"Retry-After": "1"}
        ) from error
    return EventsAccepted(accepted=accepted, event_ids=[row["event_id"] for row in rows])
