"""Interactions built in ClickHouse: event weights, dislikes, decay, the selection sample."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from recsys.events.validity import DEFAULT_EPOCH
from recsys.warehouse import interaction_sql, source_tables
from recsys.warehouse.connection import Warehouse


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


def test_model_selection_reads_a_fixed_sample_of_whole_users(warehouse):
    pairs = [[f"u{u}", f"i{i}", 1.0, 1, 0] for u in range(2000) for i in range(3)]
    with warehouse.session() as client:
        client.insert(
            "interactions",
            pairs,
            column_names=["user_id", "item_id", "confidence", "events", "disliked"],
        )
        everyone, total = interaction_sql.interaction_pairs(client)
        sample, total_again = interaction_sql.interaction_pairs(client, max_users=500)
        again, _ = interaction_sql.interaction_pairs(client, max_users=500)
    assert total == total_again == 2000 and len(everyone) == 6000
    users = set(sample["user_id"])
    assert 400 <= len(users) <= 600  # about max_users, picked by hash
    assert len(sample) == 3 * len(users)  # whole histories, never part of a user
    assert users == set(again["user_id"])  # the same users every time
