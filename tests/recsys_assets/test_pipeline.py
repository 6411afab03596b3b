"""The real asset graph materialised by a real Dagster instance into an embedded warehouse."""

from pathlib import Path

import dagster as dg
import mlflow
import pytest

from recsys.settings import Settings
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from tests.conftest import SMALL_BUDGET, copy_home, run_full_pipeline, small_settings


def _warehouse(settings: Settings) -> Warehouse:
    return Warehouse.from_url(settings.warehouse_url)


def test_publishes_one_version_with_all_its_tables(published: Settings):
    with _warehouse(published).session() as client:
        current = versions.published(client)
        assert current is not None and current.status == "published"
        counts = dict(
            client.query(
                """
                SELECT 'recs', count() FROM user_recommendations WHERE model_version = {v:String}
                UNION ALL
                SELECT 'similar', count() FROM similar_items WHERE model_version = {v:String}
                UNION ALL
                SELECT 'trending', count() FROM trending_items WHERE model_version = {v:String}
                """,
                parameters={"v": current.model_version},
            ).result_rows
        )
        users_with_signal = client.query(
            "SELECT uniqExact(user_id) FROM interactions WHERE confidence > 0"
        ).result_rows[0][0]
        users_with_recs = client.query(
            "SELECT uniqExact(user_id) FROM user_recommendations WHERE model_version = {v:String}",
            parameters={"v": current.model_version},
        ).result_rows[0][0]
    assert counts["recs"] > 0 and counts["similar"] > 0 and counts["trending"] > 0
    assert users_with_recs == users_with_signal
    assert (
        published.warehouse_url
        and _warehouse(published).published_marker() == current.model_version
    )


def test_recommendations_are_top_k_ranked_unseen_and_in_the_catalogue(published: Settings):
    with _warehouse(published).session() as client:
        v = {"v": versions.published(client).model_version}
        worst = client.query(
            """
            SELECT max(n), min(first_rank), max(rank_gap), max(score_rises) FROM (
                SELECT user_id, count() AS n, min(rank) AS first_rank,
                    max(rank) - count() AS rank_gap,
                    arrayExists((a, b) -> b > a,
                        arrayPopBack(groupArray(score)), arrayPopFront(groupArray(score)))
                        AS score_rises
                FROM (SELECT * FROM user_recommendations WHERE model_version = {v:String}
                      ORDER BY user_id, rank)
                GROUP BY user_id
            )
            """,
            parameters=v,
        ).result_rows[0]
        seen = client.query(
            """
            SELECT count() FROM user_recommendations AS r
            INNER JOIN interactions AS i ON r.user_id = i.user_id AND r.item_id = i.item_id
            WHERE r.model_version = {v:String}
            """,
            parameters=v,
        ).result_rows[0][0]
        unknown = client.query(
            """
            SELECT count() FROM user_recommendations
            WHERE model_version = {v:String} AND item_id NOT IN (SELECT item_id FROM items)
            """,
            parameters=v,
        ).result_rows[0][0]
        self_similar = client.query(
            "SELECT count() FROM similar_items WHERE item_id = similar_item_id"
        ).result_rows[0][0]
    assert worst[0] <= published.top_k and worst[1] == 1 and worst[2] == 0 and worst[3] == 0
    assert seen == 0 and unknown == 0 and self_similar == 0


def test_training_run_is_tracked_and_registered_in_mlflow(published: Settings):
    with _warehouse(published).session() as client:
        current = versions.published(client)
    mlflow.set_tracking_uri(published.tracking_uri)
    client = mlflow.MlflowClient()
    run = mlflow.get_run(current.mlflow_run_id)
    assert run.data.tags["model_version"] == current.model_version
    assert run.data.tags["algorithm"] == current.algorithm
    assert {k: str(v) for k, v in current.params.items()} == run.data.params
    assert run.data.metrics["test_ndcg_at_10"] == pytest.approx(current.metrics["ndcg_at_10"])
    assert "popularity_ndcg_at_10" in run.data.metrics
    artifacts = [a.path for a in client.list_artifacts(run.info.run_id, "model")]
    assert artifacts == ["model/model.npz"]
    assert str(published.mlflow_artifacts_dir.as_uri()) in run.info.artifact_uri
    # Every tuning trial is a child run of the training run.
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(children) >= 5 and {c.data.tags["family"] for c in children} >= {"als", "ease"}
    champion = client.get_model_version_by_alias("recsys", "champion")
    assert champion.run_id == current.mlflow_run_id
    assert champion.tags["model_version"] == current.model_version


def test_published_version_carries_its_metrics_and_the_baseline(published: Settings):
    with _warehouse(published).session() as client:
        current = versions.published(client)
    for metrics in (current.metrics, current.baseline_metrics):
        assert {
            "ndcg_at_10",
            "precision_at_10",
            "recall_at_10",
            "map_at_10",
            "coverage_at_10",
        } <= set(metrics)
    assert current.metrics["ndcg_at_10"] > current.baseline_metrics["ndcg_at_10"]
    assert current.decision.startswith("published as the first model")
    # The metrics say which protocol produced them (RECSYS_EVALUATION_SPLIT, default temporal).
    assert current.evaluation.startswith("temporal: held out each user's latest 20%")


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    # Big enough that tuned models clearly beat popularity (the blocking model check).
    return small_settings(tmp_path, synthetic_seed=8)


def test_rerun_publishes_a_new_version_without_reloading_the_dataset(home: Settings):
    with dg.instance_for_test() as instance:
        first = run_full_pipeline(home, instance)
        second = run_full_pipeline(home, instance)
    assert first.success and second.success

    def meta(result, asset, key):
        materialization = result.asset_materializations_for_node(asset)[0]
        return materialization.metadata[key].value

    assert meta(first, "events", "events_loaded_now") == 25_000
    table = meta(first, "model_selection", "metrics")
    assert "**champion**" in table and "| popularity |" in table and "cold_ndcg_at_10" in table
    assert meta(second, "events", "events_loaded_now") == 0
    assert meta(second, "events", "events_total") == meta(first, "events", "events_total")
    first_version = meta(first, "published_model", "model_version")
    second_version = meta(second, "published_model", "model_version")
    assert first_version != second_version
    with _warehouse(home).session() as client:
        assert versions.published(client).model_version == second_version
        kept = client.query(
            "SELECT DISTINCT model_version FROM user_recommendations ORDER BY model_version"
        ).result_columns[0]
    assert kept == sorted([first_version, second_version])  # retention keeps the last three


@pytest.fixture
def copied(published: Settings, tmp_path: Path) -> Settings:
    """A copy of the published home: these tests run the pipeline again into it."""
    return copy_home(published, tmp_path / "home")


def _publish_then_run_again(home: Settings, **materialize_args) -> tuple[str, object]:
    """Run again on a published home with `materialize_args`; (version before, the result)."""
    with _warehouse(home).session() as client:
        before = versions.published(client).model_version
    with dg.instance_for_test() as instance:
        result = run_full_pipeline(home, instance, raise_on_error=False, **materialize_args)
    return before, result


def test_a_failed_run_says_why_and_leaves_the_published_version_serving(copied: Settings):
    before, result = _publish_then_run_again(
        copied,
        run_config={
            "ops": {
                **SMALL_BUDGET["ops"],
                "interactions": {"config": {"event_weights": {"teleport": 9.0}}},
            }
        },
    )
    assert not result.success
    failure = result.failure_data_for_node("interactions")
    assert "unknown event types: ['teleport']" in failure.error.message
    with _warehouse(copied).session() as client:
        assert versions.published(client).model_version == before
    before, result = _publish_then_run_again(
        copied,
        run_config={
            "ops": {
                "model_selection": {
                    "config": {
                        **SMALL_BUDGET["ops"]["model_selection"]["config"],
                        "split_mode": "k_fold",
                    }  # fmt: skip
                }
            }
        },
    )
    failure = result.failure_data_for_node("model_selection")
    assert "unknown evaluation split 'k_fold'" in failure.error.message
    assert "temporal, global_time, random, leave_last_out" in failure.error.message


def test_a_model_without_its_exports_is_not_published(copied: Settings):
    # Retrain and try to publish, skipping the export steps.
    before, result = _publish_then_run_again(
        copied,
        selection=[
            "interactions",
            "interaction_matrix",
            "model_selection",
            "candidate_model",
            "published_model",
        ],
    )
    assert not result.success
    message = result.failure_data_for_node("published_model").error.message
    assert "no rows in user_recommendations, similar_items, trending_items" in message
    with _warehouse(copied).session() as client:
        assert versions.published(client).model_version == before


def test_a_worse_challenger_is_not_published_and_says_why(copied: Settings):
    weak_only = {
        "ops": {
            "model_selection": {
                "config": {
                    "budget": {"content_tfidf": 1},
                    "min_improve": 0.0,
                }
            }
        }
    }
    before, result = _publish_then_run_again(copied, run_config=weak_only)
    assert result.success
    # Nothing downstream of the rejected model ran: no export, no publication.
    for node in ("candidate_model", "user_recommendations", "trending_items", "published_model"):
        assert result.asset_materializations_for_node(node) == []
    # The reason is on the candidate's observation (and in model_versions below).
    observed = [
        event.asset_observation_data.asset_observation
        for event in result.all_events
        if event.event_type_value == "ASSET_OBSERVATION"
    ]
    [decision] = [o.metadata for o in observed if o.asset_key.path == ["candidate_model"]]
    assert decision["publish"].value is False
    assert "kept the published model" in decision["decision"].value
    with _warehouse(copied).session() as client:
        assert versions.published(client).model_version == before
        statuses = client.query(
            "SELECT status, count() FROM model_versions FINAL GROUP BY status ORDER BY status"
        ).result_rows
    assert statuses == [("published", 1), ("rejected", 1)]
