"""Event ingestion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException

from recsys.warehouse.lock import WarehouseBusyError
from serving.dependencies import SnapshotDep, StateDep
from serving.schemas import EventBatch, EventIn, EventsAccepted, EventsPayload, FeedbackIn

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
    return _store(state, rows)


@router.post("/feedback", response_model=EventsAccepted)
def post_feedback(feedback: FeedbackIn, state: StateDep, snapshot: SnapshotDep) -> EventsAccepted:
    """Thumbs up or down on a recommended item, stored as a `like` or `dislike` event."""
    if feedback.item_id not in snapshot.catalogue:
        raise HTTPException(status_code=404, detail=f"unknown item_id {feedback.item_id!r}")
    row = {
        "event_id": feedback.event_id or uuid.uuid4().hex,
        "user_id": feedback.user_id,
        "item_id": feedback.item_id,
        "event_type": "like" if feedback.feedback == "up" else "dislike",
        "value": None,
        "timestamp": datetime.now(UTC),
        "source": "feedback",
    }
    return _store(state, [row])


def _store(state, rows: list[dict]) -> EventsAccepted:
    try:
        accepted = state.store_events(rows)
    except WarehouseBusyError as error:
        # Nothing was written; the client may retry (with the same event ids, idempotently).
        raise HTTPException(
            status_code=503, detail=str(error), headers={"Retry-After": "1"}
        ) from error
    return EventsAccepted(accepted=accepted, event_ids=[row["event_id"] for row in rows])
