"""Accepted implies trainable: every event the API accepts (generated, seeded) ends up as its
exact (user, item) cell in the training matrix; a refused batch stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.events.validity import DEFAULT_EPOCH
from recsys.events.vocabulary import EVENT_TYPES, VALUE_RANGES
from recsys.models.matrix import build_matrix
from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import interaction_sql, source_tables
from serving.app import create_app
from tests.conftest import small_settings

NOW = datetime.now(UTC)
ids = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Zs")), min_size=1, max_size=6),
    st.sampled_from(
        ["é", "e\u0301", "\u200fu", "👩\u200d💻", "x" * 256, "a b", "i1", "日本", "Ω", "u1"]
        + ["", " padded", "nul\x00", "\ud800", "x" * 257]  # refused
    ),
)
events = st.builds(
    lambda user, item, event_type, stars, seconds_ago: {
        "user_id": user,
        "item_id": item,
        "event_type": event_type,
        "value": stars if event_type == "rating" else None,
        "timestamp": (NOW - timedelta(seconds=seconds_ago)).isoformat(),
    },
    ids,
    ids,
    st.sampled_from(EVENT_TYPES),
    st.sampled_from([0.5, 3.0, 4.5, 5.0, 7.0]),
    st.sampled_from([0, 60, 600, 86_400, 86_400 * 365 * 10, -30, 86_400 * 365 * 40, -3_600]),
)


def test_every_accepted_event_is_a_cell_of_the_training_matrix(tmp_path):
    home = small_settings(tmp_path)
    accepted: list[dict] = []
    with TestClient(create_app(home)) as api:
        stored = api.app.state.serving.warehouse

        @settings(
            max_examples=100, derandomize=True, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(batch=st.lists(events, min_size=1, max_size=3))
        def post(batch):
            body = json.dumps({"events": batch}, ensure_ascii=True)
            response = api.post(
                "/events", content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code in (200, 422), response.text
            if response.status_code == 200:
                accepted.extend(batch)

        post()
        assert len(accepted) > 40  # enough accepted events to mean something
        items = sorted({e["item_id"] for e in accepted})
        with stored.session() as client:
            source_tables.insert_items(client, _catalogue(items))
            interaction_sql.rebuild_interactions(client, DEFAULT_EVENT_WEIGHTS, DEFAULT_EPOCH)
            total = client.query("SELECT count() FROM events").result_rows[0][0]
            matrix = build_matrix(interaction_sql.stream_interactions(client))
    assert total == len(accepted)  # refused batches stored nothing
    rows = {user: n for n, user in enumerate(matrix.user_ids)}
    columns = {item: n for n, item in enumerate(matrix.item_ids)}
    for event in accepted:
        cell = rows[event["user_id"]], columns[event["item_id"]]
        assert matrix.seen[cell] == 1, event
    assert set(VALUE_RANGES) == set(EVENT_TYPES)


def _catalogue(items: list[str]):
    import pandas as pd

    return pd.DataFrame(
        {"item_id": items, "title": "t", "genres": [[]] * len(items),
         "tags": [[]] * len(items), "year": None}
    )  # fmt: skip
