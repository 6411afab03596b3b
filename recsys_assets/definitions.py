"""The Dagster code location: `dagster dev -m recsys_assets.definitions` or workspace.yaml."""

import dagster as dg

from recsys import tracing
from recsys.settings import Settings, get_settings
from recsys_assets.assets import (
    experiment_results,
    ingest,
    matrices,
    models,
    publishing,
    ranking,
    user_lists,
)
from recsys_assets.automation import build_nightly_schedule, build_retrain_sensor
from recsys_assets.checks import all_checks
from recsys_assets.experiment_automation import build_registry_sensor, build_results_schedule
from recsys_assets.jobs import experiment_results_job, full_pipeline_job
from recsys_assets.resources import build_resources

all_assets = dg.load_assets_from_modules(
    [ingest, matrices, models, ranking, user_lists, publishing, experiment_results]
)


def build_definitions(settings: Settings) -> dg.Definitions:
    """Assets, checks, the job and its automation, with resources and thresholds from settings."""
    return dg.Definitions(
        assets=all_assets,
        asset_checks=all_checks,
        jobs=[full_pipeline_job(settings.pipeline_executor), experiment_results_job],
        sensors=[
            build_retrain_sensor(
                threshold=settings.retrain_threshold,
                interval_seconds=settings.retrain_sensor_seconds,
                switched_on=settings.automation_on,
            ),
            build_registry_sensor(settings.retrain_sensor_seconds, settings.automation_on),
        ],
        schedules=[
            build_nightly_schedule(
                settings.retrain_cron, settings.retrain_timezone, switched_on=settings.automation_on
            ),
            build_results_schedule(settings.experiment_results_cron, settings.automation_on),
        ],
        resources=build_resources(settings),
        executor=dg.in_process_executor,
    )


tracing.configure("recsys-pipeline")  # on only with an OTLP endpoint (recsys.tracing)
defs = build_definitions(get_settings())
