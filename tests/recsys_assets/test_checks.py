"""Blocking checks in a real run: a corrupted batch stops publication, the API keeps serving."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
from fastapi.testclient import TestClient

from recsys.events.ids import encode_id
from recsys.settings import Settings
from recsys.warehouse import source_tables
from recsys.warehouse.connection import Warehouse
from recsys_assets.definitions import defs
from serving.app import create_app
from tests.conftest import SMALL_BUDGET, copy_home, run_full_pipeline, small_settings


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


def _direct_insert(settings, rows: list[tuple]) -> None:
    """Rows as another writer could store them (direct SQL): ids byte for byte, stored NaN."""
    columns = ["event_id", "user_id", "item_id", "event_type", "value", "timestamp", "source"]
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        client.insert(
            "events",
            [[encode_id(r[0]) if isinstance(r[0], str) else r[0], *r[1:]] for r in rows],
            column_names=columns,
        )


def _evaluation(result, name: str):
    return next(
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == name
    )


def test_a_corrupted_batch_blocks_publication_while_the_api_keeps_serving(
    published: Settings, tmp_path: Path
):
    settings = copy_home(published, tmp_path / "home")  # published once already
    with dg.instance_for_test() as instance, TestClient(create_app(settings)) as api:
        before = api.get("/model").json()["model_version"]
        now = datetime.now(UTC)
        # A bulk import gone wrong: 2,000 rows (about 8% of the log), far over the 1%
        # the checks tolerate.
        n = 2_000
        corrupted = pd.DataFrame(
            {
                "event_id": [f"bad-{i}" for i in range(n)],
                "user_id": [f"u{i % 50}" for i in range(n)],
                "item_id": [f"i{i % 40}" for i in range(n)],
                "event_type": ["teleport", "rating", "like", "like"] * (n // 4),
                "value": [None, 99.0, None, None] * (n // 4),
                "timestamp": [now, now, now + timedelta(days=30), now] * (n // 4),
                "source": "bulk-import",
            }
        )
        corrupted.loc[corrupted.index % 4 == 3, "user_id"] = "bad\x00"
        with Warehouse.from_url(settings.warehouse_url).session() as client:
            source_tables.insert_events(client, corrupted)

        result = run_full_pipeline(settings, instance, raise_on_error=False)

        assert not result.success
        evaluation = _evaluation(result, "events_are_valid")
        assert not evaluation.passed
        assert "'teleport'" in evaluation.description
        assert "ms_after_acceptance" in evaluation.description
        assert "value" in evaluation.description and "user_id" in evaluation.description
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


def test_a_few_bad_rows_and_a_retried_batch_never_stop_a_retrain(
    published: Settings, tmp_path: Path
):
    """What used to block every later run: a 1970 event, ids differing by a trailing NUL,
    a batch posted twice. Now the bad rows are quarantined and the run publishes."""
    settings = copy_home(published, tmp_path / "home")  # published once already
    with dg.instance_for_test() as instance:
        now = datetime.now(UTC)
        _direct_insert(
            settings,
            [
                ("old-1", "u1", "i1", "like", None, datetime(1970, 1, 1, tzinfo=UTC), "sql"),
                ("nul-1", "u0\x00", "i2", "like", None, now, "sql"),
                ("nul-2", "u0", "i2\x00", "like", None, now, "sql"),
                ("future-1", "u2", "i3", "like", None, now + timedelta(days=3), "sql"),
                ("nan-1", "u3", "i4", "like", float("nan"), now, "sql"),
                (b"bad-utf8-\xff", "u4", "i5", "like", None, now, "sql"),
            ],
        )
        batch = [
            {"user_id": f"u{n % 300}", "item_id": f"i{n % 200}", "event_type": "view_start",
             "event_id": f"retried-{n}"}
            for n in range(2_000)
        ]  # fmt: skip
        with TestClient(create_app(settings)) as api:
            for _ in range(2):  # a client retrying after a timeout, as the README says to
                assert api.post("/events", json={"events": batch}).json()["stored"] == 2_000

        result = run_full_pipeline(settings, instance)

        assert result.success
        assert _evaluation(result, "events_are_valid").passed
        volume = _evaluation(result, "events_volume_is_sane")
        assert volume.passed and volume.metadata["events_total"].value > 25_000
        quarantined = result.asset_materializations_for_node("quarantined_events")[0].metadata
        assert quarantined["invalid_in_log"].value == 6
        table = quarantined["by_origin_and_field"].value
        assert "| events | timestamp | 2 |" in table and "| events | user_id | 1 |" in table
        assert "| events | item_id | 1 |" in table and "| events | value | 1 |" in table
        assert "| events | event_id | 1 |" in table
        with Warehouse.from_url(settings.warehouse_url).session() as client:
            trained = client.query(
                "SELECT count() FROM interactions WHERE user_id = 'u0\x00' OR item_id = 'i2\x00'"
                " OR (user_id = 'u1' AND item_id = 'i1' AND last_at < '1990-01-01')"
            ).result_rows[0][0]
            listed = client.query(
                "SELECT field, hex(event_id) FROM quarantined_events FINAL "
                "WHERE origin = 'events' ORDER BY event_id"
            ).result_rows
        assert trained == 0
        assert ("event_id", encode_id("bad-utf8-").hex().upper() + "FF") in listed


def test_a_run_is_checked_against_its_own_config_and_defaults_resolve_at_run_time(
    tmp_path: Path,
):
    """top_k from the run config (80) wins over the setting (7); fields left empty take the
    settings given to this deployment, not those of the process that imported the code."""
    settings = small_settings(
        tmp_path,
        top_k=7,
        decay_half_life_days=30.0,
        evaluation_split="leave_last_out",
        relevance_min_rating=0.0,
    )
    run_config = {
        "ops": {
            **SMALL_BUDGET["ops"],
            "user_recommendations": {"config": {"top_k": 80}},
        }
    }
    with dg.instance_for_test() as instance:
        result = run_full_pipeline(settings, instance, run_config=run_config)
    assert result.success
    assert _evaluation(result, "recommendations_are_publishable").passed
    recs = result.asset_materializations_for_node("user_recommendations")[0].metadata
    assert recs["top_k"].value == 80
    used = result.asset_materializations_for_node("interactions")[0].metadata
    assert used["run_config_from_settings"].value == {"decay_half_life_days": 30.0}
    # The deployment's evaluation protocol drives selection and is recorded with the metrics.
    selection = result.asset_materializations_for_node("model_selection")[0].metadata
    assert selection["run_config_from_settings"].value["split_mode"] == "leave_last_out"
    assert selection["evaluation"].value == (
        "leave_last_out: held out each user's latest pair; relevant: every held-out pair"
    )
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        longest = client.query(
            "SELECT max(c) FROM (SELECT count() AS c FROM user_recommendations GROUP BY user_id)"
        ).result_rows[0][0]
    assert 7 < longest <= 80
