"""Event ingestion: the event rule (recsys.events.validity) decides what is accepted, so anything
this API stores is used by training, and anything it refuses gets a 422 naming the field. Events
about an item withdrawn from the catalogue (deleted, hidden, outside its window) are refused
too; items the catalogue does not know yet are accepted (the item may arrive after its events)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

from fastapi import APIRouter, HTTPException
from fastapi.exceptions import RequestValidationError

from recsys.events.payloads import EventBatch, EventIn, EventsPayload
from recsys.events.validity import event_problem, stored_time
from serving.http.dependencies import CatalogueDep, StateDep
from serving.http.errors import invalid
from serving.http.schemas import EventsAccepted, FeedbackIn
from serving.writes.event_identity import EventConflict, settle_repeats

router = APIRouter(tags=["events"])


@router.post("/events", response_model=EventsAccepted)
def post_events(payload: EventsPayload, state: StateDep) -> EventsAccepted:
    """Store one event or `{"events": [...]}`; answers once they are durably stored.

    An event is `(user_id, event_id)`: re-sending one (a retry) stores it once; an identity
    already stored with other content is a 409 (nothing of the request is stored).
    """
    batch = isinstance(payload, EventBatch)
    events: list[EventIn] = payload.events if batch else [payload]
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": uuid.uuid4().hex if event.event_id is None else event.event_id,
            "user_id": event.user_id,
            "item_id": event.item_id,
            "event_type": event.event_type,
            "value": event.value,
            "timestamp": stored_time(event.timestamp or now),
            "source": "api",
            "request_id": event.request_id or "",
        }
        for event in events
    ]
    _refuse_invalid(rows, state, now, batch)
    claimed = {
        (row["user_id"], row["event_id"]): event.timestamp is not None
        for row, event in zip(rows, events, strict=True)
        if event.event_id is not None
    }
    return _store(state, rows, claimed)


@router.post("/feedback", response_model=EventsAccepted)
def post_feedback(feedback: FeedbackIn, state: StateDep, catalogue: CatalogueDep) -> EventsAccepted:
    """Thumbs up or down on a recommended item, stored as a `like` or `dislike` event."""
    now = datetime.now(UTC)
    row = {
        "event_id": uuid.uuid4().hex if feedback.event_id is None else feedback.event_id,
        "user_id": feedback.user_id,
        "item_id": feedback.item_id,
        "event_type": "like" if feedback.feedback == "up" else "dislike",
        "value": None,
        "timestamp": stored_time(now),
        "source": "feedback",
        "request_id": feedback.request_id or "",
    }
    _refuse_invalid([row], state, now, batch=False)
    if feedback.item_id not in catalogue:
        raise HTTPException(status_code=404, detail=f"unknown item_id {feedback.item_id!r}")
    claimed = {} if feedback.event_id is None else {(row["user_id"], row["event_id"]): False}
    return _store(state, [row], claimed)


def _refuse_invalid(rows: list[dict], state, now: datetime, batch: bool) -> None:
    """A 422 naming every invalid field (and, in a batch, the event's index); nothing is
    stored unless every event is valid."""
    errors = []
    catalogue = state.catalogue  # None before the first publication: nothing withdrawn yet
    for index, row in enumerate(rows):
        problem = event_problem(row, state.settings.quality_epoch, now)
        if problem is None and catalogue is not None:
            withdrawn = catalogue.problem(row["item_id"])
            problem = ("item_id", f"{row['item_id']!r} is {withdrawn}") if withdrawn else None
        if problem:
            field, why = problem
            where = ("body", "events", index, field) if batch else ("body", field)
            errors.append(invalid(where, f"{field} {why}", row[field]))
    if errors:
        raise RequestValidationError(errors)


def _store(state, rows: list[dict], claimed: dict[tuple[str, str], bool]) -> EventsAccepted:
    # The same identity twice in one batch: keep the last, as the table would after a merge.
    unique = {(row["user_id"], row["event_id"]): row for row in rows}
    try:  # faults: 503 (serving.http.errors)
        stored = state.store_events(
            list(unique.values()), settle=partial(settle_repeats, claimed=claimed)
        )
    except EventConflict as conflict:
        raise HTTPException(status_code=409, detail=str(conflict)) from None
    return EventsAccepted(
        accepted=len(rows),
        stored=stored,
        repeated_in_batch=len(rows) - len(unique),
        event_ids=[row["event_id"] for row in rows],
    )
