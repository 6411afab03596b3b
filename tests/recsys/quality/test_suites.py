"""Each check: a crafted bad input fails with the expected reason, a good input passes."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from recsys.quality import reads, suites
from recsys.quality.reads import RecommendationTotals
from recsys.warehouse import source_tables

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EPOCH = datetime(1995, 1, 1, tzinfo=UTC)


def _events(**changes) -> pd.DataFrame:
    rows = [
        {
            "event_id": f"e{n}",
            "user_id": f"u{n % 3}",
            "item_id": f"i{n % 4}",
            "event_type": "rating" if n % 2 else "view_start",
            "value": 4.0 if n % 2 else None,
            "timestamp": NOW - timedelta(days=n),
        }
        for n in range(20)
    ]
    frame = pd.DataFrame(rows)
    for column, (index, value) in changes.items():
        frame.loc[index, column] = value
    return frame


def test_good_events_pass():
    report = suites.check_events(_events(), EPOCH, NOW)
    assert report.success, report.reason()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"user_id": (3, None)}, "user_id: expect_column_values_to_not_be_null"),
        ({"item_id": (4, "")}, "item_id: expect_column_value_lengths_to_be_between"),
        ({"user_id": (4, "u0\x00")}, "user_id: expect_column_values_to_not_match_regex"),
        ({"user_id": (4, "\ud800")}, "user_id: expect_column_values_to_not_match_regex"),
        ({"event_id": (4, " e4")}, "event_id: expect_column_values_to_not_match_regex"),
        ({"event_type": (5, "teleport")}, "['teleport']"),
        ({"value": (1, 9.0)}, "value_high vs value_or_default: expect_column_pair_values_a"),
        ({"value": (2, float("inf"))}, "value_high vs value_or_default: expect_column_pair"),
        ({"value": (2, -1.0)}, "value_or_default vs value_low: expect_column_pair_values_a"),
        ({"value": (3, None)}, "value_or_default: expect_column_values_to_not_be_null"),
        ({"timestamp": (2, NOW + timedelta(days=3))}, "ms_after_acceptance"),
        ({"timestamp": (2, datetime(1980, 1, 1, tzinfo=UTC))}, "timestamp_ms"),
    ],
)
def test_bad_events_fail_with_the_reason(changes, reason):
    report = suites.check_events(_events(**changes), EPOCH, NOW)
    assert not report.success
    assert reason in report.reason()


def test_invalid_events_block_only_above_the_tolerated_rate():
    frame = _events(user_id=(3, "u\x00"), timestamp=(2, datetime(1970, 1, 1, tzinfo=UTC)))
    assert not suites.check_events(frame, EPOCH, NOW, max_invalid_rate=0.01).success  # 5% each
    assert suites.check_events(frame, EPOCH, NOW, max_invalid_rate=0.06).success
    assert not suites.check_events(frame, EPOCH, NOW, max_invalid_rate=0.0).success


def _recs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": ["u1", "u1", "u2"],
            "rank": [1, 2, 1],
            "item_id": ["a", "b", "a"],
            "score": [0.9, 0.5, 0.7],
            "model_version": "v1",
            "already_seen": False,
            "in_catalogue": True,
        }
    )


def _totals(**overrides) -> RecommendationTotals:
    values = {
        "users_served": 2,
        "users_over_k": 0,
        "active_users_without_recommendations": 0,
        "items_recommended": 2,
        "catalogue_size": 3,
    }
    return RecommendationTotals(**{**values, **overrides})


def _check_recs(frame, totals=None, **overrides):
    args = {"k": 2, "model_version": "v1", "min_coverage": 0.5, **overrides}
    return suites.check_recommendations(frame, totals or _totals(), **args)


def test_recommendations_pass_and_each_rule_fails_with_its_reason():
    assert _check_recs(_recs()).success
    assert "rows_for_user" in _check_recs(_recs(), k=1).reason()
    assert "already_seen" in _check_recs(_recs().assign(already_seen=[False, True, False])).reason()
    assert "in_catalogue" in _check_recs(_recs().assign(in_catalogue=[True, True, False])).reason()
    rising = _recs().assign(score=[0.5, 0.9, 0.7])
    assert "score_rises" in _check_recs(rising).reason()
    assert "model_version" in _check_recs(_recs().assign(model_version=["v1", "v0", "v1"])).reason()
    assert "users_with_more_than_k" in _check_recs(_recs(), _totals(users_over_k=3)).reason()
    unserved = _totals(active_users_without_recommendations=1)
    assert "active_users_without_recommendations" in _check_recs(_recs(), unserved).reason()
    assert "catalogue_coverage" in _check_recs(_recs(), _totals(catalogue_size=10)).reason()


def test_recommendation_reads_derive_the_row_rules_in_the_warehouse(warehouse):
    """The sample's derived columns and the totals, computed by ClickHouse on real tables."""
    with warehouse.session() as client:
        source_tables.insert_items(
            client,
            pd.DataFrame(
                {
                    "item_id": ["a", "b", "c"],
                    "title": "t",
                    "genres": [["Drama"]] * 3,
                    "tags": [[]] * 3,
                    "year": 2000,
                }
            ),
        )
        client.insert(
            "interactions",
            [["u1", "a", 1.0, 1, 0], ["u2", "c", 0.0, 1, 1], ["u3", "b", 2.0, 1, 0]],
            column_names=["user_id", "item_id", "confidence", "events", "disliked"],
        )
        client.insert(
            "user_recommendations",
            [
                ["v1", "u1", 1, "a", 0.9, "als"],
                ["v1", "u1", 2, "ghost", 0.5, "als"],
                ["v1", "u2", 1, "c", 0.8, "als"],
                ["v1", "u2", 2, "b", 0.7, "als"],
            ],
            column_names=["model_version", "user_id", "rank", "item_id", "score", "source"],
        )
        sample = reads.recommendation_sample(client, "v1", max_users=10)
        totals = reads.recommendation_totals(client, "v1", k=1)
    flags = {(r.user_id, r.item_id): (r.already_seen, r.in_catalogue) for r in sample.itertuples()}
    # u1 had a; u2 disliked c (a touched pair all the same); ghost is in no catalogue
    assert flags == {
        ("u1", "a"): (True, True),
        ("u1", "ghost"): (False, False),
        ("u2", "c"): (True, True),
        ("u2", "b"): (False, True),
    }
    assert totals == RecommendationTotals(
        users_served=2,
        users_over_k=2,
        active_users_without_recommendations=1,  # u3
        items_recommended=4,
        catalogue_size=3,
    )


def test_model_must_be_finite_and_beat_popularity():
    good = {"ndcg_at_10": 0.12, "precision_at_10": 0.1, "recall_at_10": 0.1, "map_at_10": 0.05}
    assert suites.check_model(good, {"ndcg_at_10": 0.07}).success
    assert "lift_over_popularity" in suites.check_model(good, {"ndcg_at_10": 0.2}).reason()
    broken = {**good, "map_at_10": float("nan")}
    assert (
        "map_at_10: expect_column_values_to_not_be_null"
        in suites.check_model(broken, {"ndcg_at_10": 0.07}).reason()
    )


def test_event_volume_collapse_and_an_empty_log_fail():
    assert suites.check_event_volume(1000, previous_total=900).success
    collapsed = suites.check_event_volume(300, previous_total=1000)
    assert "events_total" in collapsed.reason() and "[300]" in collapsed.reason()
    assert "events_total" in suites.check_event_volume(0, previous_total=None).reason()


def test_matrix_checks_confidences_size_density_and_ids():
    good = suites.check_matrix(np.array([1.0, 2.0]), 50, 40, 300, [])
    assert good.success, good.reason()
    assert "min_confidence" in suites.check_matrix(np.array([-1.0]), 50, 40, 300, []).reason()
    assert "users" in suites.check_matrix(np.array([1.0]), 3, 40, 30, []).reason()
    assert (
        "density" in suites.check_matrix(np.array([1.0]), 50, 40, 300, [], min_density=0.5).reason()
    )
    unknown = suites.check_matrix(np.array([1.0]), 50, 40, 300, ["ghost-1", "ghost-2"])
    assert "unknown_item_ids" in unknown.reason() and "ghost-1" in unknown.reason()
