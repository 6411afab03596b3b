"""A family owns its lifecycle: one defined in the test tree (two stages, a bundle of its own,
lists that explain themselves) is searched, published, served, folded in and explained by the
real pipeline and API, with no edit to any asset or router."""

from pathlib import Path

import dagster as dg
import mlflow
import pytest
from fastapi.testclient import TestClient

from recsys.settings import Settings
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from serving.app import create_app
from tests.conftest import copy_home, run_full_pipeline
from tests.families import boosted_neighbours
from tests.families.boosted_neighbours import NAME, BoostedStage


@pytest.fixture
def registered():
    boosted_neighbours.register()
    yield
    boosted_neighbours.unregister()


def test_a_family_from_outside_is_published_served_folded_in_and_explained(
    registered, published: Settings, tmp_path: Path
):
    home = copy_home(published, tmp_path / "home")
    config = {"ops": {"model_selection": {"config": {"min_improve": -1.0, "budget": {NAME: 2}}}}}
    with dg.instance_for_test() as instance:
        result = run_full_pipeline(home, instance, run_config=config)
    assert result.success
    trained = result.output_for_node("candidate_model").model
    # The refit went through the family's own hooks: live binding, progress, its MLflow report.
    assert {"attach_live", "fit_with_progress", "tracking_report"} <= set(trained.stage_calls)
    warehouse = Warehouse.from_url(home.warehouse_url)
    with warehouse.session() as client:
        current = versions.published(client)
        [[bundle_names]] = client.query(
            "SELECT groupArray(name) FROM model_bundles WHERE model_version = {v:String}",
            parameters={"v": current.model_version},
        ).result_rows
        [[user]] = client.query(
            "SELECT user_id FROM user_recommendations WHERE model_version = {v:String} "
            "ORDER BY user_id LIMIT 1",
            parameters={"v": current.model_version},
        ).result_rows
        liked = [
            row[0]
            for row in client.query(
                "SELECT item_id FROM user_recommendations WHERE model_version = {v:String} "
                "AND user_id = {u:String} ORDER BY rank LIMIT 3",
                parameters={"v": current.model_version, "u": user},
            ).result_rows
        ]
    assert current.algorithm == NAME
    assert bundle_names == [NAME]  # its request-time data, stored with the version
    mlflow.set_tracking_uri(home.tracking_uri)
    assert mlflow.get_run(current.mlflow_run_id).data.metrics["boosted_items"] > 0

    BoostedStage.ranked = 0
    events = [{"user_id": "newcomer", "item_id": item, "event_type": "like"} for item in liked]
    with TestClient(create_app(home)) as api:
        served = api.get(f"/recommendations/{user}", params={"k": 5, "explain": True}).json()
        assert api.post("/events", json={"events": events}).status_code == 200
        fresh = api.get("/recommendations/newcomer", params={"k": 5}).json()
        similar = api.get(f"/items/{liked[0]}/similar", params={"k": 3})
    # Published and served: its precomputed lists, each item explained by what lifted it.
    assert (served["source"], served["algorithm"]) == ("precomputed", NAME), served
    lifted = [item["explanation"].get("lifted_by") for item in served["items"]]
    assert all(lifted), served
    assert {lift["feature"] for lifts in lifted for lift in lifts} <= {"neighbours", "popularity"}
    # Folded in: a user the lists do not cover, ranked now by its second stage.
    assert (fresh["source"], fresh["algorithm"]) == ("fold_in", NAME), fresh
    assert fresh["items"] and not {i["item_id"] for i in fresh["items"]} & set(liked)
    assert BoostedStage.ranked == 1
    # Its item side serves similar items too.
    assert similar.status_code == 200 and similar.json()["items"]
