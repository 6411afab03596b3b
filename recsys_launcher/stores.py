"""Create each store once, before any of the processes that share it start.

`recsys up` starts the Dagster UI and daemon, the API, the MLflow UI and a pipeline run at
once. Two processes that create one new SQLite MLflow store (or Dagster's) at the same moment
race on its schema (`table ... already exists`), so the CLI creates them all first, in one
process, and only then starts the others.
"""

from __future__ import annotations

from pathlib import Path

from recsys.settings import Settings

MLFLOW_EXPERIMENT = "recsys"


def initialise(settings: Settings) -> list[str]:
    """Warehouse schema, MLflow store and experiment, Dagster instance storage; returns what
    was set up, for the CLI to print."""
    from recsys.warehouse.connection import Warehouse
    from recsys.warehouse.migrations import apply_migrations

    done = []
    warehouse = Warehouse.from_url(
        settings.warehouse_url,
        lock_timeout=settings.lock_timeout_seconds,
        cluster=settings.clickhouse_cluster,
    )
    try:
        with warehouse.session() as client:
            apply_migrations(client, warehouse.cluster)
    finally:
        warehouse.close()  # embedded: let the API open the engine
    done.append("warehouse")
    if not settings.tracking_is_server:
        initialise_mlflow(settings.tracking_uri, settings.mlflow_artifacts_dir)
        done.append("MLflow")
    initialise_dagster(settings.dagster_home)
    done.append("Dagster")
    return done


def initialise_mlflow(tracking_uri: str, artifacts: Path) -> None:
    """Create the tracking store's schema and the experiment, artifacts under `artifacts`."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)  # creates and migrates a SQLite store
    if client.get_experiment_by_name(MLFLOW_EXPERIMENT) is None:
        client.create_experiment(MLFLOW_EXPERIMENT, artifact_location=artifacts.as_uri())


def initialise_dagster(dagster_home: Path) -> None:
    """Create the instance's run, event-log and schedule storage."""
    import dagster as dg

    dagster_home.mkdir(parents=True, exist_ok=True)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        instance.get_runs(limit=1)


def last_failure(dagster_home: Path, job: str = "full_pipeline") -> str | None:
    """What made the newest run of `job` fail: the failed steps and their errors, or None."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=job), limit=1)
        if not runs or runs[0].status != dg.DagsterRunStatus.FAILURE:
            return None
        records = instance.get_records_for_run(
            runs[0].run_id,
            of_type={dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE},
        ).records
    steps, run = [], []
    for record in records:
        event = record.event_log_entry.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event else None
        while error is not None and error.cause is not None:  # Dagster wraps the real error
            error = error.cause
        message = (error.message if error else record.event_log_entry.user_message).strip()
        line = message.splitlines()[0] if message else "failed"
        if event and event.step_key:
            steps.append(f"step {event.step_key}: {line}")
        else:
            run.append(f"run: {line}")
    return "; ".join(dict.fromkeys(steps or run)) or f"run {runs[0].run_id[:8]} failed"
