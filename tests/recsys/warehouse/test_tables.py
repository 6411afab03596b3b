"""Reads the freshness work relies on: one user's interactions, counts since a time, item_model."""

import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.foldin import ItemSide
from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.validity import DEFAULT_EPOCH
from recsys.warehouse import ingestion, interaction_sql, source_tables, user_reads
from recsys.warehouse.item_model import read_item_model, write_item_model

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _events(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "event_id": f"e{n}",
                "user_id": user,
                "item_id": item,
                "event_type": event_type,
                "value": value,
                "timestamp": T0 + pd.Timedelta(days=day),
                "source": "test",
            }
            for n, (user, item, event_type, value, day) in enumerate(rows)
        ]
    )


EVENTS = [
    ("u1", "a", "view_start", None, 0),
    ("u1", "a", "view_complete", None, 1),
    ("u1", "b", "rating", 4.0, 2),
    ("u1", "c", "like", None, 3),
    ("u1", "c", "dislike", None, 4),
    ("u2", "a", "like", None, 30),
]


@pytest.mark.parametrize("half_life_days", [0.0, 10.0])
def test_one_users_interactions_match_the_rebuilt_table(warehouse, half_life_days):
    items = pd.DataFrame(
        {"item_id": list("abc"), "title": "t", "genres": [[]] * 3, "tags": [[]] * 3, "year": None}
    )
    with warehouse.session() as client:
        source_tables.insert_items(client, items)
        source_tables.insert_events(client, _events(EVENTS))
        interaction_sql.rebuild_interactions(
            client, DEFAULT_EVENT_WEIGHTS, DEFAULT_EPOCH, half_life_days
        )
        expected = client.query_df(
            "SELECT item_id, confidence, disliked FROM interactions "
            "WHERE user_id = 'u1' ORDER BY item_id"
        )
        newest = interaction_sql.newest_event_time(client, DEFAULT_EPOCH)
        got = user_reads.user_interactions(
            client,
            "u1",
            DEFAULT_EVENT_WEIGHTS,
            DEFAULT_EPOCH,
            half_life_days,
            decay_reference=newest,
        ).sort_values("item_id", ignore_index=True)
        nobody = user_reads.user_interactions(
            client, "nobody", DEFAULT_EVENT_WEIGHTS, DEFAULT_EPOCH
        )
    pd.testing.assert_frame_equal(got.drop(columns="strongest"), expected, check_dtype=False)
    assert nobody.empty
    assert list(nobody.columns) == ["item_id", "confidence", "disliked", "strongest"]
    # The event that weighed most per item: explanations use its verb.
    strongest = got.set_index("item_id")["strongest"].to_dict()
    assert strongest == {"a": "view_complete", "b": "rating", "c": "like"}
    assert got.set_index("item_id")["disliked"].to_dict() == {"a": 0, "b": 0, "c": 1}
    if half_life_days == 0:
        assert got.set_index("item_id")["confidence"]["a"] == pytest.approx(4.0)


def test_counts_and_users_since_a_time(warehouse):
    with warehouse.session() as client:
        source_tables.insert_events(client, _events(EVENTS[:3]))
        first = ingestion.latest_ingestion(client)
        time.sleep(0.01)
        source_tables.insert_events(
            client, _events(EVENTS[3:]).assign(event_id=lambda f: f.event_id + "x")
        )
        count, newest = ingestion.events_ingested_since(client, first)
        users = ingestion.users_ingested_since(client, first)
        nothing = ingestion.events_ingested_since(client, newest)
    assert count == 3 and newest > first
    assert set(users) == {"u1", "u2"} and users["u2"] == newest
    assert nothing == (0, None)


def test_item_model_round_trip(warehouse):
    rng = np.random.default_rng(0)
    weights = sp.random(6, 6, density=0.4, format="csr", dtype=np.float32, random_state=1)
    items = ItemSide(
        item_ids=np.array([f"i{n}" for n in range(6)], dtype=object),
        content=sp.random(6, 9, density=0.3, format="csr", dtype=np.float32, random_state=2),
        factors=rng.normal(size=(6, 3)).astype(np.float32),
        item_weights=weights,
        length_norm=rng.random(6).astype(np.float32),
    )
    assert write_item_model(warehouse, "v1", items, block_rows=4) == 6
    with warehouse.session() as client:
        loaded = read_item_model(client, "v1")
        assert read_item_model(client, "v2") is None
    assert list(loaded.item_ids) == list(items.item_ids)
    np.testing.assert_array_equal(loaded.factors, items.factors)
    np.testing.assert_array_equal(loaded.length_norm, items.length_norm)
    assert (loaded.item_weights != items.item_weights).nnz == 0
    # Trailing empty term columns are not stored; the rows' content is.
    np.testing.assert_array_equal(
        loaded.content.toarray(), items.content.toarray()[:, : loaded.content.shape[1]]
    )
    assert not items.content.toarray()[:, loaded.content.shape[1] :].any()


def test_topk_blocks_travel_as_arrow_with_ranks_over_filled_slots(warehouse):
    """Dictionary-encoded ids arrive as plain strings; empty slots are dropped, ranks close up."""
    from recsys.warehouse import exports

    item_ids = np.array(["a", "b", "c"], dtype=object)
    table = exports.topk_table(
        rows=np.array([1, 0]),
        columns=np.array([[2, -1, 0], [1, 0, -1]]),
        scores=np.array([[0.9, 0.0, 0.4], [0.8, 0.7, 0.0]], dtype=np.float32),
        row_ids=np.array(["u0", "u1"], dtype=object),
        column_ids=exports.id_array(item_ids),
        names=("user_id", "item_id"),
        model_version="v1",
        source="als",
    )
    written = exports.write_topk(warehouse, "user_recommendations", "v1", [table])
    with warehouse.session() as client:
        rows = client.query(
            "SELECT user_id, rank, item_id, round(toFloat64(score), 2), model_version, source "
            "FROM user_recommendations ORDER BY user_id, rank"
        ).result_rows
    assert written == 4
    assert rows == [
        ("u0", 1, "b", 0.8, "v1", "als"),
        ("u0", 2, "a", 0.7, "v1", "als"),
        ("u1", 1, "c", 0.9, "v1", "als"),
        ("u1", 2, "a", 0.4, "v1", "als"),
    ]


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
