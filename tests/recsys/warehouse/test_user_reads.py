"""One user's interactions read at request time match the rebuilt table."""

import pandas as pd
import pytest

from recsys.events.validity import DEFAULT_EPOCH
from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import interaction_sql, source_tables, user_reads
from tests.recsys.warehouse.rows import EVENTS, events_frame


@pytest.mark.parametrize("half_life_days", [0.0, 10.0])
def test_one_users_interactions_match_the_rebuilt_table(warehouse, half_life_days):
    items = pd.DataFrame(
        {"item_id": list("abc"), "title": "t", "genres": [[]] * 3, "tags": [[]] * 3, "year": None}
    )
    with warehouse.session() as client:
        source_tables.insert_items(client, items)
        source_tables.insert_events(client, events_frame(EVENTS))
        interaction_sql.rebuild_interactions(
            client, DEFAULT_EVENT_WEIGHTS, DEFAULT_EPOCH, half_life_days
        )
        expected = client.query_df(
            "SELECT item_id, confidence, disliked, toUnixTimestamp64Milli(last_at) / 1000 AS "
            "last_at, rating FROM interactions WHERE user_id = 'u1' ORDER BY item_id"
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
    assert list(nobody.columns) == [
        "item_id",
        "confidence",
        "disliked",
        "strongest",
        "last_at",  # epoch seconds and the rating: the two-stage ranker's user features
        "rating",
    ]
    # The event that weighed most per item: explanations use its verb.
    strongest = got.set_index("item_id")["strongest"].to_dict()
    assert strongest == {"a": "view_complete", "b": "rating", "c": "like"}
    assert got.set_index("item_id")["disliked"].to_dict() == {"a": 0, "b": 0, "c": 1}
    if half_life_days == 0:
        assert got.set_index("item_id")["confidence"]["a"] == pytest.approx(4.0)
