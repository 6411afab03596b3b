"""The two-stage ranker in the real asset graph: published only when it wins its place."""

from pathlib import Path

import dagster as dg
import mlflow
import pytest

from recsys.ranking.request_time import OnlineRanker
from recsys.settings import Settings
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from tests.conftest import copy_home, run_full_pipeline


@pytest.fixture
def copied(published: Settings, tmp_path: Path) -> Settings:
    return copy_home(published, tmp_path / "home")


def _run(home: Settings, **selection) -> tuple[str, dg.ExecuteInProcessResult]:
    """A run on a published home with this model_selection config (publishes its champion
    whatever the incumbent scored: min_improve -1); (the version before, the result)."""
    warehouse = Warehouse.from_url(home.warehouse_url)
    with warehouse.session() as client:
        before = versions.published(client).model_version
    config = {"ops": {"model_selection": {"config": {"min_improve": -1.0, **selection}}}}
    with dg.instance_for_test() as instance:
        result = run_full_pipeline(home, instance, run_config=config)
    return before, result


def _selection_metadata(result: dg.ExecuteInProcessResult) -> dict:
    [materialization] = result.asset_materializations_for_node("model_selection")
    return materialization.metadata


def test_a_ranker_that_loses_to_a_single_family_is_not_published(copied: Settings):
    # Two candidates per retriever: whatever it learns, its lists are too short to win.
    starved = {name: 2 for name in ("ease", "item_knn", "popularity", "recent_neighbours")}
    _, result = _run(
        copied, budget={"ease": 1, "item_knn": 1, "ranker": 1}, ranker_candidates=starved
    )
    metadata = _selection_metadata(result)
    assert metadata["champion"].value == "ease"
    table = metadata["metrics"].value
    assert "| ranker |" in table  # it competed, on the same split
    warehouse = Warehouse.from_url(copied.warehouse_url)
    with warehouse.session() as client:
        published = versions.published(client)
    assert published.algorithm == "ease"
    [report] = result.asset_materializations_for_node("ranker")
    assert report.metadata["status"].value == "lost to ease"
    assert report.metadata["minus_best_single"].value < 0


def test_a_ranker_that_wins_is_published_with_its_lists_and_importances(
    copied: Settings, monkeypatch: pytest.MonkeyPatch
):
    before, result = _run(copied, budget={"ease": 1, "item_knn": 1, "ranker": 2})
    metadata = _selection_metadata(result)
    assert metadata["champion"].value == "ranker", metadata["metrics"].value
    warehouse = Warehouse.from_url(copied.warehouse_url)
    with warehouse.session() as client:
        published = versions.published(client)
        assert published.algorithm == "ranker" and published.model_version != before
        users_with_signal, users_with_lists = client.query(
            "SELECT (SELECT uniqExact(user_id) FROM interactions WHERE confidence > 0), "
            "(SELECT uniqExact(user_id) FROM user_recommendations "
            "WHERE model_version = {v:String})",
            parameters={"v": published.model_version},
        ).result_rows[0]
        leftovers = client.query(
            "SELECT count() FROM system.tables WHERE name LIKE 'ranker_scratch_%'"
        ).result_rows[0][0]
    assert users_with_lists == users_with_signal
    [report] = result.asset_materializations_for_node("ranker")
    assert report.metadata["status"].value == "champion"
    assert "x_genre_share_max" in report.metadata["feature_importance"].value
    # The refit on all data serves the very booster the champion rule scored on the test split
    # (only its retrievers are refitted): the published booster is that one, tree for tree.
    tested = result.output_for_node("model_selection").selection.champion_result.tested_booster
    assert result.output_for_node("candidate_model").model.booster.model_to_string() == tested
    [reach] = result.asset_materializations_for_node("retrieval")
    assert reach.metadata["union_recall"].value >= reach.metadata["recall_ease"].value
    assert leftovers == 0  # scratch tables of the features are dropped
    # Its MLflow run says what the booster leaned on.
    mlflow.set_tracking_uri(copied.tracking_uri)
    run = mlflow.get_run(published.mlflow_run_id)
    shares = {k: v for k, v in run.data.metrics.items() if k.startswith("importance_")}
    assert shares and abs(sum(shares.values()) - 1.0) < 1e-6
    # The API serves its lists, and explains each item by what lifted it (pred_contrib).
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with warehouse.session() as client:
        [[user]] = client.query(
            "SELECT user_id FROM user_recommendations WHERE model_version = {v:String} "
            "ORDER BY user_id LIMIT 1",
            parameters={"v": published.model_version},
        ).result_rows
    with TestClient(create_app(copied)) as api:
        body = api.get(f"/recommendations/{user}", params={"k": 5, "explain": True}).json()
    assert body["algorithm"] == "ranker" and body["source"] == "precomputed"
    lifted = [item["explanation"].get("lifted_by") for item in body["items"]]
    assert all(lifted), body
    names = {lift["feature"] for lifts in lifted for lift in lifts}
    assert all(lift["lift"] > 0 for lifts in lifted for lift in lifts)
    assert names <= set(shares_names(shares))
    # A user the lists do not cover goes through both stages now (fold-in): every retriever's
    # item side, features from memory, the booster.
    with warehouse.session() as client:
        [[bundle]] = client.query(
            "SELECT length(data) FROM model_bundles WHERE model_version = {v:String}",
            parameters={"v": published.model_version},
        ).result_rows
        liked = [
            r[0]
            for r in client.query(
                "SELECT item_id FROM user_recommendations WHERE model_version = {v:String} "
                "AND user_id = {u:String} ORDER BY rank LIMIT 3",
                parameters={"v": published.model_version, "u": user},
            ).result_rows
        ]
    assert bundle > 0
    events = [{"user_id": "brand-new", "item_id": item, "event_type": "like"} for item in liked]
    ranked = []
    rank = OnlineRanker.rank
    monkeypatch.setattr(
        OnlineRanker, "rank", lambda self, *args: ranked.append(args) or rank(self, *args)
    )
    with TestClient(create_app(copied)) as api:
        assert api.post("/events", json={"events": events}).status_code == 200
        fresh = api.get("/recommendations/brand-new", params={"k": 10}).json()
    assert fresh["source"] == "fold_in" and fresh["algorithm"] == "ranker", fresh
    served = [item["item_id"] for item in fresh["items"]]
    assert len(served) == 10 and not set(served) & set(liked)
    assert all(item["source"] == "ranker" for item in fresh["items"])
    assert len(ranked) == 1 and set(ranked[0][0].columns)  # the two stages scored it


def shares_names(shares: dict[str, float]) -> list[str]:
    return [name.removeprefix("importance_") for name in shares]
