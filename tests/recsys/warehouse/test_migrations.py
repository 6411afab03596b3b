from datetime import UTC, datetime

import pandas as pd
import pytest

from recsys.validity import DEFAULT_EPOCH
from recsys.warehouse import interaction_sql, source_tables
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import MIGRATIONS, apply_migrations, schema_version


def test_migrations_are_recorded_and_idempotent(warehouse: Warehouse):
    with warehouse.session() as client:
        assert apply_migrations(client) == []
        assert schema_version(client) == MIGRATIONS[-1].version
        engines = dict(
            client.query(
                "SELECT name, engine FROM system.tables WHERE database = currentDatabase()"
            ).result_rows
        )
    assert engines["events"] == "ReplacingMergeTree"
    assert engines["items"] == "ReplacingMergeTree"
    for table in ("user_recommendations", "similar_items", "trending_items", "interactions"):
        assert engines[table] == "MergeTree"
    assert engines["model_versions"] == "ReplacingMergeTree"


def _event(event_id: str, user: str = "u1", item: str = "i1") -> dict:
    return {
        "event_id": event_id,
        "user_id": user,
        "item_id": item,
        "event_type": "like",
        "value": None,
        "timestamp": datetime(2025, 1, 1, tzinfo=UTC),
        "source": "test",
    }


def test_a_resent_event_is_stored_once(warehouse: Warehouse):
    with warehouse.session() as client:
        source_tables.insert_events(client, pd.DataFrame([_event("e1"), _event("e2")]))
        source_tables.insert_events(client, pd.DataFrame([_event("e1")]))
        assert client.query("SELECT count() FROM events FINAL").result_rows == [(2,)]
        assert source_tables.event_counts_by_type(client) == {"like": 2}


def test_interactions_weigh_events_zero_dislikes_and_skip_unknown_items(warehouse: Warehouse):
    at = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        ("a", "u1", "i1", "view_start", None),
        ("b", "u1", "i1", "view_complete", 1.0),
        ("c", "u1", "i2", "rating", 4.0),
        ("d", "u1", "i3", "like", None),
        ("e", "u1", "i3", "dislike", None),
        ("f", "u1", "not-in-catalogue", "like", None),
    ]
    frame = pd.DataFrame(
        [
            {
                "event_id": e,
                "user_id": u,
                "item_id": i,
                "event_type": t,
                "value": v,
                "timestamp": at,
                "source": "test",
            }
            for e, u, i, t, v in rows
        ]
    )
    weights = {"view_start": 1.0, "view_complete": 3.0, "rating": 0.5, "like": 4.0, "dislike": 0.0}
    catalogue = pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3"],
            "title": ["A", "B", "C"],
            "genres": [[], [], []],
            "tags": [[], [], []],
            "year": [None, 1999, None],
        }
    )
    with warehouse.session() as client:
        source_tables.insert_items(client, catalogue)
        source_tables.insert_events(client, frame)
        assert source_tables.events_with_unknown_items(client) == 1
        assert interaction_sql.rebuild_interactions(client, weights, DEFAULT_EPOCH) == 3
        got = {
            item: (confidence, disliked)
            for item, confidence, disliked in client.query(
                "SELECT item_id, confidence, disliked FROM interactions ORDER BY item_id"
            ).result_rows
        }
    assert got == {"i1": (4.0, 0), "i2": (2.0, 0), "i3": (0.0, 1)}


def test_time_decay_halves_an_event_per_half_life_of_age(warehouse: Warehouse):
    newest = datetime(2025, 3, 1, tzinfo=UTC)
    frame = pd.DataFrame(
        [
            {
                "event_id": "new",
                "user_id": "u",
                "item_id": "a",
                "event_type": "like",
                "value": None,
                "timestamp": newest,
                "source": "test",
            },
            {
                "event_id": "old",
                "user_id": "u",
                "item_id": "b",
                "event_type": "like",
                "value": None,
                "timestamp": newest - pd.Timedelta(days=10),
                "source": "test",
            },
        ]
    )
    catalogue = pd.DataFrame(
        {
            "item_id": ["a", "b"],
            "title": ["A", "B"],
            "genres": [[], []],
            "tags": [[], []],
            "year": [None, None],
        }
    )
    with warehouse.session() as client:
        source_tables.insert_items(client, catalogue)
        source_tables.insert_events(client, frame)
        interaction_sql.rebuild_interactions(
            client, {"like": 4.0}, DEFAULT_EPOCH, half_life_days=10.0
        )
        got = dict(client.query("SELECT item_id, confidence FROM interactions").result_rows)
    assert got["a"] == pytest.approx(4.0) and got["b"] == pytest.approx(2.0, rel=1e-4)
