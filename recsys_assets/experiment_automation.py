"""Experiments on their own: results every hour, and the registry's aliases kept in step with
promotions made through the API."""

import json

import dagster as dg

from recsys.warehouse import versions
from recsys_assets.jobs import experiment_results_job
from recsys_assets.registry import sync_aliases
from recsys_assets.resources import ExperimentsResource, WarehouseResource


def _status(switched_on: bool):
    return dg.DefaultScheduleStatus.RUNNING if switched_on else dg.DefaultScheduleStatus.STOPPED


def build_results_schedule(cron: str, switched_on: bool) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="hourly_experiment_results",
        job=experiment_results_job,
        cron_schedule=cron,
        default_status=_status(switched_on),
        description=f"Experiments' results at '{cron}' (RECSYS_EXPERIMENT_RESULTS_CRON).",
    )


def build_registry_sensor(interval_seconds: int, switched_on: bool) -> dg.SensorDefinition:
    @dg.sensor(
        name="registry_follows_roles",
        minimum_interval_seconds=interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if switched_on else dg.DefaultSensorStatus.STOPPED
        ),
        description="Moves the MLflow `champion`/`challenger` aliases to the versions serving "
        "in those roles (a promotion through the API changes them without MLflow).",
    )
    def registry_follows_roles(
        context: dg.SensorEvaluationContext,
        warehouse: WarehouseResource,
        experiments: ExperimentsResource,
    ):
        store = warehouse.get()
        announced = store.published_markers()  # embedded: a file read, no engine
        if announced and json.dumps(announced, sort_keys=True) == context.cursor:
            return dg.SkipReason("roles unchanged")
        with store.session() as client:
            served = versions.served(client)
        moved = sync_aliases(experiments.registry(), served)
        current = {role: version.model_version for role, version in served.items()}
        context.update_cursor(json.dumps(announced or current, sort_keys=True))
        return dg.SkipReason(f"registry aliases: {moved or 'none registered'}")

    return registry_follows_roles
