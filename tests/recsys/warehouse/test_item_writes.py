"""The living catalogue in the warehouse: upserts, tombstones that keep history, what readers
see changed, and exports that leave withdrawn items out."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from recsys.catalogue.payloads import ItemFields
from recsys.events.validity import DEFAULT_EPOCH
from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import exports, item_reads, item_writes, source_tables
from recsys.warehouse.interaction_sql import rebuild_interactions
from tests.recsys.warehouse.rows import EVENTS, events_frame

ITEMS = pd.DataFrame(
    {
        "item_id": ["a", "b", "c"],
        "title": ["Alpha", "Beta", "Gamma"],
        "genres": [["Drama"], ["Comedy"], ["Drama"]],
        "tags": [[], [], []],
        "year": [2001, None, 2003],
    }
)


def test_a_tombstone_keeps_the_item_and_its_history_and_a_put_brings_it_back(warehouse):
    with warehouse.session() as client:
        source_tables.insert_items(client, ITEMS)
        source_tables.insert_events(client, events_frame(EVENTS))
        assert item_writes.tombstone(client, ["b", "nope"]) == ["b"]
        assert item_writes.tombstone(client, ["b"]) == []  # deleted already
        (row,) = item_reads.rows_of(client, ["b"])
        assert row[:2] == ("b", "Beta") and row[-1] == 1  # title kept, deleted
        # Training still sees the events about it: deleting rewrites no history.
        rebuild_interactions(client, DEFAULT_EVENT_WEIGHTS, DEFAULT_EPOCH)
        pairs = client.query("SELECT item_id FROM interactions WHERE user_id = 'u1'").result_columns
        assert "b" in pairs[0]
        item_writes.upsert(client, [("b", ItemFields(title="Beta 2"))])
        (row,) = item_reads.rows_of(client, ["b"])
        assert row[:2] == ("b", "Beta 2") and row[-1] == 0


def test_exports_and_trending_leave_withdrawn_items_out(warehouse):
    now = datetime.now(UTC)
    with warehouse.session() as client:
        source_tables.insert_items(client, ITEMS)
        source_tables.insert_events(client, events_frame(EVENTS))
        expired = ItemFields(title="Gamma", available_until=now - timedelta(hours=1))
        item_writes.upsert(client, [("c", expired)])
        withheld = exports.withheld_columns(client, np.array(["a", "b", "c"], dtype=object))
        assert withheld.tolist() == [False, False, True]
        rows = exports.write_trending(client, "v1", DEFAULT_EVENT_WEIGHTS, 7.0, DEFAULT_EPOCH)
        listed = client.query("SELECT DISTINCT item_id FROM trending_items").result_columns[0]
    assert rows["decayed"] > 0 and "c" not in listed and "a" in listed

    table = exports.topk_table(
        rows=np.array([0]),
        columns=np.array([[2, 0, 1]]),
        scores=np.array([[0.9, 0.8, 0.7]], dtype=np.float32),
        row_ids=np.array(["u1"], dtype=object),
        column_ids=exports.id_array(np.array(["a", "b", "c"], dtype=object)),
        names=("user_id", "item_id"),
        model_version="v1",
        source="als",
        withheld=withheld,
        limit=1,
    )
    assert table.column("item_id").to_pylist() == ["a"] and table.column("rank").to_pylist() == [1]


def test_readers_see_what_changed_and_a_dataset_reload_keeps_lifecycles(warehouse):
    with warehouse.session() as client:
        source_tables.insert_items(client, ITEMS)
        since = client.query("SELECT now64(3)").result_rows[0][0]
        item_writes.upsert(client, [("a", ItemFields(title="Alpha", hidden=True))])
        item_writes.upsert(client, [("new", ItemFields(title="Brand new", genres=["Drama"]))])
        changed, newest = item_reads.changed_rows(client, since - timedelta(milliseconds=1))
        assert {row[0] for row in changed} == {"a", "new"} and newest is not None
        source_tables.insert_items(client, ITEMS)  # the dataset loaded again
        (row,) = item_reads.rows_of(client, ["a"])
        assert row[7] == 1  # still hidden
        assert {row[0] for row in item_reads.lifecycle_rows(client)} == {"a"}
