"""The slow clock: the sensor counts events posted to the API, requests one retrain at the
threshold, the run publishes, and the API serves the new version without a restart."""

import time
import uuid

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from recsys_assets import retries
from recsys_assets.assets.ingest import items
from recsys_assets.automation import EventCount
from recsys_assets.definitions import build_definitions
from recsys_assets.jobs import RETRAIN_TAG
from recsys_assets.resources import build_resources
from serving.app import create_app
from tests.conftest import SMALL_BUDGET, small_settings, warehouse_held_elsewhere

THRESHOLD = 30


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    sensor = defs.resolve_sensor_def("retrain_on_new_events")
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        sensor_name=sensor.name,
        resources={"warehouse": defs.resources["warehouse"]},
    )
    return sensor(context)


def _post_likes(api: TestClient, n: int) -> None:
    events = [
        {"user_id": f"sensor-user-{i % 7}", "item_id": f"i{i}", "event_type": "like"}
        for i in range(n)
    ]
    assert api.post("/events", json={"events": events}).status_code == 200


def _retrain_run(instance: dg.DagsterInstance, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """A retrain run record in `status`, as the queue or a worker would leave it."""
    run = dg.DagsterRun(
        job_name="full_pipeline",
        run_id=str(uuid.uuid4()),
        status=status,
        tags={RETRAIN_TAG: "true"},
    )
    instance.add_run(run)
    return run


def _observed(result) -> int:
    (observation,) = result.asset_events
    assert observation.asset_key == dg.AssetKey("events")
    return observation.metadata["events_since_training"].value


def test_sensor_requests_one_retrain_at_the_threshold_and_the_api_serves_it(tmp_path):
    settings = small_settings(tmp_path, retrain_threshold=THRESHOLD)
    settings.dagster_home.mkdir(parents=True)
    defs = build_definitions(settings)
    job = defs.resolve_job_def("full_pipeline")
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        before_training = _evaluate(defs, instance, None)
        assert "no model trained yet" in before_training.skip_reason.skip_message

        assert job.execute_in_process(run_config=SMALL_BUDGET, instance=instance).success
        with TestClient(create_app(settings)) as api:
            first = api.get("/model").json()["model_version"]

            quiet = _evaluate(defs, instance, None)
            assert quiet.run_requests == [] and quiet.cursor
            assert f"0 new events since {first}" in quiet.skip_reason.skip_message

            _post_likes(api, THRESHOLD - 1)
            below = _evaluate(defs, instance, quiet.cursor)
            assert below.run_requests == [] and _observed(below) == THRESHOLD - 1
            unchanged = _evaluate(defs, instance, below.cursor)
            assert unchanged.asset_events == []  # nothing new: no observation to record

            _post_likes(api, 1)
            crossed = _evaluate(defs, instance, unchanged.cursor)
            (request,) = crossed.run_requests
            assert request.tags["recsys/new_events"] == str(THRESHOLD)
            assert EventCount.from_cursor(crossed.cursor).pending == THRESHOLD

            # While a retrain is pending or running the sensor waits instead of stacking another.
            queued = _retrain_run(instance, dg.DagsterRunStatus.NOT_STARTED)
            waiting = _evaluate(defs, instance, crossed.cursor)
            assert waiting.run_requests == []
            assert (
                f"waiting for retrain run {queued.run_id[:8]}" in waiting.skip_reason.skip_message
            )
            instance.delete_run(queued.run_id)

            retrain = job.execute_in_process(
                run_config=SMALL_BUDGET, instance=instance, tags=request.tags
            )
            assert retrain.success
            deadline = time.monotonic() + 15
            while (current := api.get("/model").json()["model_version"]) == first:
                assert time.monotonic() < deadline, "the API never served the retrained version"
                time.sleep(0.1)

            after = _evaluate(defs, instance, crossed.cursor)
            assert after.run_requests == []
            assert f"0 new events since {current}" in after.skip_reason.skip_message


def test_the_nightly_schedule_waits_for_a_running_retrain(tmp_path):
    settings = small_settings(tmp_path, retrain_cron="30 2 * * *", automation_on=False)
    defs = build_definitions(settings)
    schedule = defs.resolve_schedule_def("nightly_retrain")
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    with dg.instance_for_test() as instance:
        request = schedule(dg.build_schedule_context(instance=instance))
        assert isinstance(request, dg.RunRequest)
        running = _retrain_run(instance, dg.DagsterRunStatus.STARTED)
        skipped = schedule(dg.build_schedule_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason) and running.run_id[:8] in skipped.skip_message


def test_a_briefly_busy_warehouse_is_retried_with_backoff(tmp_path, monkeypatch):
    settings = small_settings(tmp_path, lock_timeout_seconds=0.5)
    monkeypatch.setattr(retries, "FIRST_WAIT_SECONDS", 1.0)
    with (
        warehouse_held_elsewhere(settings.warehouse_url) as release,
        dg.instance_for_test() as instance,
    ):
        backoff = retries.backoff_seconds

        def release_then_wait(retry_number: int) -> float:
            release()  # the first attempt has failed on the held lock: let the retry succeed
            return backoff(retry_number)

        monkeypatch.setattr(retries, "backoff_seconds", release_then_wait)
        result = dg.materialize([items], resources=build_resources(settings), instance=instance)
    assert result.success
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried, "the busy warehouse should have caused at least one retry"
    first = retried[0].event_specific_data
    assert first.seconds_to_wait == 1.0  # the first step of the backoff
    assert "WarehouseBusyError" in str(first.error.cause or first.error)


def test_a_bug_is_not_retried(tmp_path):
    @dg.asset
    @retries.retry_when_unavailable
    def broken(context: dg.AssetExecutionContext) -> None:
        raise ValueError("a real bug")

    with dg.instance_for_test() as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


@pytest.mark.parametrize(
    "cursor", [None, EventCount("v1", "2024-01-01T00:00:00+00:00").to_cursor()]
)
def test_cursor_round_trip(cursor):
    assert EventCount.from_cursor(cursor).to_cursor() == (cursor or EventCount().to_cursor())


def test_without_any_model_the_sensor_requests_a_first_run_once_events_arrive(tmp_path):
    """A first run that failed (or never ran) is not waited on forever."""
    settings = small_settings(tmp_path, retrain_threshold=THRESHOLD)
    settings.dagster_home.mkdir(parents=True)
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        with TestClient(create_app(settings)) as api:
            _post_likes(api, THRESHOLD - 1)
            waiting = _evaluate(defs, instance, None)
            assert waiting.run_requests == []
            assert (
                f"no model trained yet: {THRESHOLD - 1} events" in waiting.skip_reason.skip_message
            )
            _post_likes(api, 1)
            requested = _evaluate(defs, instance, waiting.cursor)
        (request,) = requested.run_requests
        assert request.run_key == "first-model:1"
        _retrain_run(instance, dg.DagsterRunStatus.FAILURE)  # that first run failed
        again = _evaluate(defs, instance, requested.cursor)
        assert again.run_requests[0].run_key == "first-model:1"  # deduplicated by Dagster
