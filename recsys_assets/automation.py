"""Retraining on its own: a sensor that counts new events, and a nightly schedule.

The sensor counts events stored after the data the newest trained version saw (an indexed
ClickHouse count of only the new rows, kept in the sensor's cursor), shows the count as an
observation of the `events` asset, and requests `full_pipeline` once it reaches the threshold.
Neither automation stacks runs: while a retrain is queued or running they wait, and the run
queue (dagster.yaml) lets one retrain run at a time anyway.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import dagster as dg
import pandas as pd

from recsys.warehouse import ingestion, versions
from recsys_assets.jobs import FULL_PIPELINE, RETRAIN_TAG
from recsys_assets.resources import WarehouseResource

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def active_retrain(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    """A retrain run that is queued or running, if any."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(tags={RETRAIN_TAG: "true"}, statuses=ACTIVE_STATUSES), limit=1
    )
    return runs[0] if runs else None


@dataclass
class EventCount:
    """The sensor's cursor: events counted since `baseline` (a trained version's data cut-off)."""

    model_version: str = ""
    baseline: str = ""  # ISO time: that version's events_ingested_until
    counted_until: str = ""  # ISO time: the newest ingestion counted so far
    pending: int = 0

    @classmethod
    def from_cursor(cls, cursor: str | None) -> EventCount:
        return cls(**json.loads(cursor)) if cursor else cls()

    def to_cursor(self) -> str:
        return json.dumps(asdict(self))


# Before any model was trained, every event counts: a first run that failed (or never ran)
# is requested again once events arrive, instead of waiting forever for a first model.
NO_MODEL = ""
BEFORE_ANY_EVENT = pd.Timestamp(0, tz="UTC").isoformat()


def count_new_events(warehouse: WarehouseResource, previous: EventCount) -> EventCount:
    """Advance the count by the events stored since the last tick (since the newest trained
    version's data, or all events while no version was trained)."""
    with warehouse.get().session() as client:
        trained = versions.newest_trained(client)
        if trained is None:
            version, baseline = NO_MODEL, BEFORE_ANY_EVENT
        else:
            version = trained.model_version
            baseline = pd.Timestamp(trained.events_ingested_until).isoformat()
        count = (
            replace(previous)
            if previous.baseline == baseline and previous.counted_until
            else EventCount(version, baseline, baseline, 0)
        )
        new, newest = ingestion.events_ingested_since(client, pd.Timestamp(count.counted_until))
    if new:
        count.pending += new
        count.counted_until = newest.isoformat()
    return count


def build_retrain_sensor(
    threshold: int, interval_seconds: int, switched_on: bool
) -> dg.SensorDefinition:
    @dg.sensor(
        name="retrain_on_new_events",
        job_name=FULL_PIPELINE,
        minimum_interval_seconds=interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if switched_on else dg.DefaultSensorStatus.STOPPED
        ),
        description=f"Retrains when {threshold:,} events arrived since the newest trained "
        "model's data (RECSYS_RETRAIN_THRESHOLD).",
    )
    def retrain_on_new_events(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult:
        previous = EventCount.from_cursor(context.cursor)
        count = count_new_events(warehouse, previous)
        observations = []
        if count.pending != previous.pending or count.model_version != previous.model_version:
            observations.append(
                dg.AssetObservation(
                    asset_key=dg.AssetKey("events"),
                    metadata={
                        "events_since_training": count.pending,
                        "retrain_threshold": threshold,
                        "trained_version": count.model_version,
                        "trained_on_events_until": count.baseline,
                    },
                )
            )
        progress = (
            f"{count.pending:,} new events since {count.model_version}'s data"
            if count.model_version != NO_MODEL
            else f"no model trained yet: {count.pending:,} events stored"
        )
        if count.pending < threshold:
            return dg.SensorResult(
                skip_reason=f"{progress}; retraining at {threshold:,}",
                cursor=count.to_cursor(),
                asset_events=observations,
            )
        running = active_retrain(context.instance)
        if running is not None:
            return dg.SensorResult(
                skip_reason=f"{progress}; waiting for retrain run {running.run_id[:8]} "
                f"({running.status.value})",
                cursor=count.to_cursor(),
                asset_events=observations,
            )
        return dg.SensorResult(
            # One request per threshold crossed: a run that failed is requested again only
            # after another `threshold` events, not on every tick.
            run_requests=[
                dg.RunRequest(
                    run_key=f"{count.model_version or 'first-model'}:{count.pending // threshold}",
                    tags={"recsys/trigger": "new_events", "recsys/new_events": str(count.pending)},
                )
            ],
            cursor=count.to_cursor(),
            asset_events=observations,
        )

    return retrain_on_new_events


def build_nightly_schedule(cron: str, timezone: str, switched_on: bool) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="nightly_retrain",
        job_name=FULL_PIPELINE,
        cron_schedule=cron,
        execution_timezone=timezone,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING if switched_on else dg.DefaultScheduleStatus.STOPPED
        ),
        description=f"Retrains on all data at '{cron}' ({timezone}) (RECSYS_RETRAIN_CRON).",
    )
    def nightly_retrain(context: dg.ScheduleEvaluationContext):
        running = active_retrain(context.instance)
        if running is not None:
            return dg.SkipReason(
                f"retrain run {running.run_id[:8]} is {running.status.value}; "
                "it already trains on the newest data"
            )
        return dg.RunRequest(tags={"recsys/trigger": "schedule"})

    return nightly_retrain
