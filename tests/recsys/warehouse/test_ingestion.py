"""What the sensor and the API sweep read: events and users ingested since a time."""

import time

from recsys.warehouse import ingestion, source_tables
from tests.recsys.warehouse.rows import EVENTS, events_frame


def test_counts_and_users_since_a_time(warehouse):
    with warehouse.session() as client:
        source_tables.insert_events(client, events_frame(EVENTS[:3]))
        first = ingestion.latest_ingestion(client)
        time.sleep(0.01)
        source_tables.insert_events(
            client, events_frame(EVENTS[3:]).assign(event_id=lambda f: f.event_id + "x")
        )
        count, newest = ingestion.events_ingested_since(client, first)
        users = ingestion.users_ingested_since(client, first)
        nothing = ingestion.events_ingested_since(client, newest)
    assert count == 3 and newest > first
    assert set(users) == {"u1", "u2"} and users["u2"] == newest
    assert nothing == (0, None)
