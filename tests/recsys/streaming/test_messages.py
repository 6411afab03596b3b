"""Kafka message values into events and dead letters, with no broker: the same identity on
every redelivery, the rule of the API, a message stored whole or not at all."""

import json
from datetime import UTC, datetime

from recsys.events.validity import DEFAULT_EPOCH
from recsys.streaming.messages import Record, decode

NOW = datetime(2026, 1, 1, tzinfo=UTC)
T_MS = 1_700_000_000_000


def _record(offset: int, value, partition: int = 0) -> Record:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return Record("events", partition, offset, raw, T_MS)


LIKE = {"user_id": "u1", "item_id": "i1", "event_type": "like"}


def test_a_redelivered_message_is_the_same_event():
    first = decode([_record(7, LIKE)], DEFAULT_EPOCH, NOW).events
    again = decode([_record(7, LIKE)], DEFAULT_EPOCH, datetime(2026, 2, 1, tzinfo=UTC)).events
    assert first.equals(again)
    row = first.iloc[0]
    assert row["event_id"] == "events/0/7" and row["source"] == "kafka"
    assert row["timestamp"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # the message's


def test_given_ids_and_times_win_and_a_batch_numbers_its_events():
    batch = {"events": [{**LIKE, "event_id": "mine", "timestamp": "2025-06-01T12:00:00Z"},
                        {**LIKE, "item_id": "i2", "event_type": "rating", "value": 4}]}  # fmt: skip
    events = decode([_record(3, batch)], DEFAULT_EPOCH, NOW).events
    assert list(events["event_id"]) == ["mine", "events/0/3/1"]
    assert events.iloc[0]["timestamp"] == datetime(2025, 6, 1, 12, tzinfo=UTC)


def test_a_request_id_travels_with_the_event_for_attribution():
    shown = {**LIKE, "request_id": "9f2c41d00000002a"}
    events = decode([_record(1, shown), _record(2, LIKE)], DEFAULT_EPOCH, NOW).events
    assert list(events["request_id"]) == ["9f2c41d00000002a", ""]
    bad = decode([_record(3, {**LIKE, "request_id": "has space"})], DEFAULT_EPOCH, NOW)
    assert bad.events.empty and "request_id" in bad.rejected[0].reason


def test_bad_messages_become_dead_letters_with_the_reason_and_never_block_the_rest():
    records = [
        _record(1, b"{not json"),
        _record(2, {**LIKE, "event_type": "teleport"}),
        _record(3, {"events": [LIKE, {**LIKE, "item_id": "i2", "event_type": "rating"}]}),
        _record(4, {**LIKE, "user_id": "u1 "}),
        _record(5, {**LIKE, "colour": "red"}),
        _record(6, LIKE),
    ]
    decoded = decode(records, DEFAULT_EPOCH, NOW)
    assert list(decoded.events["event_id"]) == ["events/0/6"]
    reasons = {letter.offset: letter.reason for letter in decoded.rejected}
    assert set(reasons) == {1, 2, 3, 4, 5}
    assert "Invalid JSON" in reasons[1] and "event_type" in reasons[2]
    assert reasons[3].startswith("value") and "required" in reasons[3]  # the whole batch
    assert reasons[4].startswith("user_id") and "colour" in reasons[5]
    assert decoded.rejected[0].raw == b"{not json"
