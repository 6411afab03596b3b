"""User buckets as Dagster steps: one step per bucket in the run's event log, spread over
processes by the multiprocess executor, and a bucket that fails mid-write retried by Dagster's
retry policy without losing or doubling a row (its own or another bucket's)."""

import dagster as dg

from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from tests.conftest import SMALL_BUDGET, small_settings
from tests.recsys_assets.bucket_location import multiprocess_pipeline

BUCKETS = 3
BUCKET_STEPS = {f"user_recommendations.recommend_bucket[bucket_{b}]" for b in range(BUCKETS)}


def test_bucket_steps_run_in_their_own_processes_and_a_failed_bucket_is_retried(
    tmp_path, monkeypatch
):
    settings = small_settings(tmp_path / "home")
    settings.dagster_home.mkdir(parents=True)
    monkeypatch.setenv("RECSYS_HOME", str(settings.home))  # the steps' processes read it
    monkeypatch.setenv("RECSYS_TEST_FAIL_BUCKET", "1")
    run_config = {
        "ops": {
            **SMALL_BUDGET["ops"],
            "user_recommendations": {"config": {"buckets": BUCKETS, "workers": 2}},
        }
    }
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        result = dg.execute_job(
            dg.reconstructable(multiprocess_pipeline), instance, run_config=run_config
        )
        assert result.success
        events = instance.all_logs(result.run_id)

    def steps(kind: str) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for event in events:
            if event.dagster_event and event.dagster_event.event_type_value == kind:
                found.setdefault(event.step_key, []).append(event.dagster_event.pid)
        return found

    succeeded = steps("STEP_SUCCESS")
    assert set(succeeded) >= BUCKET_STEPS  # one step per bucket in the event log
    assert {step for step in succeeded if "recommend_bucket" in step} == BUCKET_STEPS
    bucket_pids = {succeeded[step][0] for step in BUCKET_STEPS}
    assert len(bucket_pids) == BUCKETS, "bucket steps shared a process"
    assert succeeded["user_recommendations.user_buckets"][0] not in bucket_pids
    # Bucket 1 failed once after writing a slice of its rows and was retried; no other did.
    assert set(steps("STEP_UP_FOR_RETRY")) == {"user_recommendations.recommend_bucket[bucket_1]"}
    assert set(steps("STEP_RESTARTED")) == {"user_recommendations.recommend_bucket[bucket_1]"}
    assert (settings.home / "bucket-failed-once").exists()

    metadata = result.asset_materializations_for_node("user_recommendations")[0].metadata
    assert metadata["buckets"].value == BUCKETS
    assert metadata["retried_buckets"].value == 1
    assert metadata["processes"].value == BUCKETS

    with Warehouse.from_url(settings.warehouse_url).session() as client:
        version = versions.published(client).model_version
        where = {"v": version}
        rows, distinct, users, ranks_ok = client.query(
            """
            SELECT sum(n), sum(ranks), count(), min(from_one_to_n) FROM (
                SELECT count() AS n, uniqExact(rank) AS ranks,
                       min(rank) = 1 AND max(rank) = count() AS from_one_to_n
                FROM user_recommendations WHERE model_version = {v:String} GROUP BY user_id
            )
            """,
            parameters=where,
        ).result_rows[0]
        active = client.query(
            "SELECT uniqExact(user_id) FROM interactions WHERE confidence > 0"
        ).result_rows[0][0]
        per_bucket = dict(
            client.query(
                "SELECT bucket, count() FROM user_recommendations WHERE model_version = {v:String}"
                " GROUP BY bucket",
                parameters=where,
            ).result_rows
        )
    # Exactly a clean run's rows: every active user once, ranks 1..n with no gap or repeat.
    assert rows == distinct == metadata["rows"].value
    assert users == active == metadata["users"].value
    assert ranks_ok
    assert sorted(per_bucket) == list(range(BUCKETS))
