"""Blocking checks in a real run: a corrupted batch stops publication, the API keeps serving."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
from fastapi.testclient import TestClient

from recsys.warehouse import tables
from recsys.warehouse.connection import Warehouse
from recsys_assets.definitions import defs
from serving.app import create_app
from tests.conftest import run_full_pipeline, small_settings


def test_checks_are_registered_blocking_and_run_by_the_full_pipeline_job():
    checks = {
        key.name: key.asset_key.to_user_string()
        for key in defs.resolve_asset_graph().asset_check_keys
    }
    assert checks == {
        "events_are_valid": "events",
        "events_volume_is_sane": "events",
        "matrix_is_trainable": "interaction_matrix",
        "items_are_valid": "items",
        "recommendations_are_publishable": "user_recommendations",
        "model_beats_popularity": "candidate_model",
    }
    job = defs.resolve_job_def("full_pipeline")
    steps = {node.name for node in job.graph.node_defs}
    assert {f"{asset}_{name}" for name, asset in checks.items()} <= steps
    assert all(spec.blocking for spec in all_check_specs())


def all_check_specs():
    from recsys_assets.checks import all_checks

    return [spec for check in all_checks for spec in check.check_specs]


def test_a_corrupted_batch_blocks_publication_while_the_api_keeps_serving(tmp_path: Path):
    settings = small_settings(tmp_path)
    with dg.instance_for_test() as instance:
        assert run_full_pipeline(settings, instance).success
        with TestClient(create_app(settings)) as api:
            before = api.get("/model").json()["model_version"]
            now = datetime.now(UTC)
            corrupted = pd.DataFrame(
                {
                    "event_id": [f"bad-{n}" for n in range(3)],
                    "user_id": ["u1", "u2", "u3"],
                    "item_id": ["i1", "i2", "i3"],
                    "event_type": ["teleport", "rating", "like"],
                    "value": [None, 99.0, None],
                    "timestamp": [now, now, now + timedelta(days=30)],
                    "source": "bulk-import",
                }
            )
            with Warehouse.from_url(settings.warehouse_url).session() as client:
                tables.insert_events(client, corrupted)

            result = run_full_pipeline(settings, instance, raise_on_error=False)

            assert not result.success
            evaluation = next(
                e.asset_check_evaluation_data
                for e in result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.asset_check_evaluation_data.check_name == "events_are_valid"
            )
            assert not evaluation.passed
            assert "['teleport']" in evaluation.description
            assert "timestamp_s" in evaluation.description and "value" in evaluation.description
            assert "expectations" in evaluation.metadata
            assert not result.asset_materializations_for_node("published_model")
            # The failing validation is published to the Data Docs site the check links to.
            docs = Path(evaluation.metadata["data_docs"].value.removeprefix("file://"))
            assert docs == settings.home / "quality/gx/uncommitted/data_docs/local_site/index.html"
            assert docs.is_file() and "events" in docs.read_text()
            pages = list((docs.parent / "validations" / "events").rglob("*.html"))
            assert len(pages) == 2  # the clean run's validation and the corrupted one
            assert api.get("/model").json()["model_version"] == before
            assert api.get("/recommendations/u1").status_code == 200
