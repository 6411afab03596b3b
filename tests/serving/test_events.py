"""POST /events and /feedback: stored once, refused whole (422, 413), feedback changes lists."""

from datetime import UTC, datetime, timedelta

import pytest

from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from tests.serving.responses import ids


def _count_events(settings: Settings, where: str, **params) -> tuple[int, int]:
    """(rows as deduplicated, physical rows) for events matching `where`."""
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        final = client.query(f"SELECT count() FROM events FINAL WHERE {where}", parameters=params)
        raw = client.query(f"SELECT count() FROM events WHERE {where}", parameters=params)
        return final.result_rows[0][0], raw.result_rows[0][0]


def test_posted_events_are_stored_once_even_when_retried(api, api_settings):
    event = {"user_id": "api-user-1", "item_id": "i1", "event_type": "like", "event_id": "retry-1"}
    first = api.post("/events", json=event)
    again = api.post("/events", json=event)
    assert first.status_code == again.status_code == 200
    assert first.json() == {
        "accepted": 1,
        "stored": 1,
        "repeated_in_batch": 0,
        "event_ids": ["retry-1"],
    }
    batch = api.post(
        "/events",
        json={
            "events": [
                {"user_id": "api-user-1", "item_id": "i2", "event_type": "view_start"},
                {
                    "user_id": "api-user-1",
                    "item_id": "i3",
                    "event_type": "rating",
                    "value": 4.5,
                    "timestamp": "2025-06-01T12:00:00Z",
                },
            ]
        },
    )
    assert batch.json()["accepted"] == 2
    final, _ = _count_events(api_settings, "user_id = {u:String}", u="api-user-1")
    assert final == 3
    assert _count_events(api_settings, "event_id = 'retry-1'")[0] == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"user_id": "u", "event_type": "like"}, "item_id"),
        ({"user_id": "u", "item_id": "i", "event_type": "teleport"}, "event_type"),
        (
            {"user_id": "u", "item_id": "i", "event_type": "rating", "value": 9},
            "outside [0.5, 5.0]",
        ),
        ({"user_id": "u", "item_id": "i", "event_type": "rating"}, "value is required"),
        ({"user_id": "", "item_id": "i", "event_type": "like"}, "user_id"),
        ({"user_id": "u", "item_id": "i", "event_type": "like", "colour": "red"}, "colour"),
        (
            {
                "user_id": "u",
                "item_id": "i",
                "event_type": "like",
                "timestamp": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            },
            "in the future",
        ),
        ({"events": []}, "events"),
        ({"events": [{"user_id": "u", "item_id": "i", "event_type": "like"}] * 10_001}, "events"),
    ],
)
def test_bad_events_are_422_with_a_message_and_nothing_is_stored(
    api, api_settings, payload, message
):
    before = _count_events(api_settings, "1")
    response = api.post("/events", json=payload)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])
    assert _count_events(api_settings, "1") == before


def test_feedback_is_stored_as_like_and_dislike_and_changes_the_list(api):
    user = "u26"
    before = ids(api.get(f"/recommendations/{user}", params={"k": 5}).json())
    down = api.post("/feedback", json={"user_id": user, "item_id": before[0], "feedback": "down"})
    assert down.status_code == 200 and down.json()["accepted"] == 1
    after = api.get(f"/recommendations/{user}", params={"k": 5}).json()
    assert after["source"] == "fold_in" and before[0] not in ids(after)
    recent = api.get(f"/users/{user}/profile").json()["recent"][0]
    assert (recent["item_id"], recent["event_type"]) == (before[0], "dislike")
    bad = api.post("/feedback", json={"user_id": user, "item_id": before[1], "feedback": "meh"})
    assert bad.status_code == 422 and "feedback" in str(bad.json()["detail"])
    unknown = api.post("/feedback", json={"user_id": user, "item_id": "nope", "feedback": "up"})
    assert unknown.status_code == 404


def test_oversized_bodies_are_413_before_anything_is_stored(api, api_settings):
    event = '{"user_id": "big", "item_id": "i1", "event_type": "like"}'
    copies = api_settings.api_max_body_bytes // len(event) + 1  # one event past the limit
    body = '{"events": [' + ", ".join([event] * copies) + "]}"
    response = api.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413  # FastAPI's own limit, set from RECSYS_API_MAX_BODY_BYTES
    profile = api.get("/users/big/profile")
    assert profile.status_code == 404
