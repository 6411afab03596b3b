"""Source writes: an event's identity is (user, event id); a re-send is stored once."""

import pandas as pd

from recsys.warehouse import source_tables
from recsys.warehouse.connection import Warehouse
from tests.recsys.warehouse.rows import like_event


def test_a_resent_event_is_stored_once(warehouse: Warehouse):
    with warehouse.session() as client:
        source_tables.insert_events(client, pd.DataFrame([like_event("e1"), like_event("e2")]))
        source_tables.insert_events(client, pd.DataFrame([like_event("e1")]))
        assert client.query("SELECT count() FROM events FINAL").result_rows == [(2,)]
        assert source_tables.event_counts_by_type(client) == {"like": 2}
