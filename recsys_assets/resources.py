"""Dagster resources: the warehouse, the dataset and MLflow tracking."""

import json
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster_mlflow.resources import CONFIG_SCHEMA as MLFLOW_CONFIG_SCHEMA
from dagster_mlflow.resources import MlFlow
from pydantic import PrivateAttr

from recsys.data import Dataset
from recsys.data.source import open_dataset
from recsys.erasure.keys import ErasureKeys, erasure_keys
from recsys.events.validity import DEFAULT_EPOCH
from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations
from recsys_assets.run_config import RunDefaults
from recsys_launcher.stores import MLFLOW_EXPERIMENT


class WarehouseResource(dg.ConfigurableResource):
    """ClickHouse through clickhouse-connect: embedded chDB (default) or a server URL."""

    url: str
    lock_timeout_seconds: float = 120.0
    linger_seconds: float = 1.0
    cluster: str = ""  # RECSYS_CLICKHOUSE_CLUSTER: the schema's cluster form

    _warehouse: Warehouse | None = PrivateAttr(default=None)

    def get(self) -> Warehouse:
        """The process-wide warehouse, with migrations applied on first use."""
        if self._warehouse is None:
            warehouse = Warehouse.from_url(
                self.url,
                lock_timeout=self.lock_timeout_seconds,
                linger=self.linger_seconds,
                cluster=self.cluster,
            )
            with warehouse.session() as client:
                apply_migrations(client, warehouse.cluster)
            self._warehouse = warehouse
        return self._warehouse


class DatasetResource(dg.ConfigurableResource):
    """What the pipeline loads: `synthetic` or `movielens:<folder or archive name>`."""

    spec: str
    synthetic_users: int
    synthetic_items: int
    synthetic_events: int
    synthetic_seed: int
    home: str

    def open(self) -> Dataset:
        return open_dataset(
            Settings(
                home=Path(self.home),
                dataset=self.spec,
                synthetic_users=self.synthetic_users,
                synthetic_items=self.synthetic_items,
                synthetic_events=self.synthetic_events,
                synthetic_seed=self.synthetic_seed,
            )
        )


class ApiResource(dg.ConfigurableResource):
    """The serving API, told about each publication so it swaps models at once.

    Best effort: the API also polls, so an unreachable API only delays the swap.
    """

    url: str
    admin_token: str | None = None
    timeout_seconds: float = 5.0

    def announce_publication(self) -> str:
        """POST /admin/reload; returns what happened, for the run's log."""
        request = urllib.request.Request(f"{self.url}/admin/reload", method="POST", data=b"")
        if self.admin_token:
            request.add_header("Authorization", f"Bearer {self.admin_token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                body = json.loads(response.read() or b"{}")
        except (OSError, ValueError) as error:  # refused, timed out, HTTP error, bad body
            return f"API at {self.url} not told ({error}); it picks the version up by polling"
        return f"API at {self.url} now serves {body.get('model_version')}"


class ErasureResource(dg.ConfigurableResource):
    """What a run needs to erase again users erased while it trained: the home whose key
    (or `RECSYS_ERASURE_KEY`, read from the environment, never from run config) makes the
    records, and where step values go when not in the instance's storage."""

    home: str
    step_values_url: str = ""

    def key_ring(self) -> ErasureKeys:
        return erasure_keys(Settings(home=Path(self.home)))


class QualityResource(dg.ConfigurableResource):
    """Where the Great Expectations Data Docs site lives, and the thresholds the checks use."""

    docs_dir: str
    epoch: str = DEFAULT_EPOCH.isoformat()
    min_coverage: float = 0.01
    max_invalid_rate: float = 0.01

    @property
    def docs_root(self) -> Path:
        return Path(self.docs_dir)

    @property
    def epoch_time(self) -> datetime:
        return datetime.fromisoformat(self.epoch)


class ExperimentsResource(dg.ConfigurableResource):
    """Where experiments are defined besides the API, how long an engagement is credited to
    an impression, and the MLflow registry whose aliases follow the served roles."""

    experiments_file: str = ""
    attribution_hours: float = 24.0
    tracking_uri: str

    def file_path(self) -> Path | None:
        return Path(self.experiments_file) if self.experiments_file else None

    def registry(self):
        """An MLflow client of the tracking store (no run of its own)."""
        import mlflow

        return mlflow.MlflowClient(tracking_uri=self.tracking_uri)


@dg.resource(
    config_schema={**MLFLOW_CONFIG_SCHEMA, "artifact_location": dg.Field(str, is_required=False)},
    description="dagster-mlflow's run-per-Dagster-run tracking, with artifacts under RECSYS_HOME.",
)
def mlflow_tracking(context: dg.InitResourceContext) -> Iterator[MlFlow]:
    import mlflow

    config = context.resource_config
    # dagster-mlflow would create the experiment with MLflow's default artifact root (./mlruns in
    # the current directory); create it first so artifacts land where the settings say.
    mlflow.set_tracking_uri(config["mlflow_tracking_uri"])
    if config.get("artifact_location") and not mlflow.get_experiment_by_name(
        config["experiment_name"]
    ):
        mlflow.create_experiment(
            config["experiment_name"], artifact_location=config["artifact_location"]
        )
    tracker = MlFlow(context)
    try:
        yield tracker
    finally:
        # dagster-mlflow's end-of-run hook does not run for asset jobs, and a run that stopped
        # early (a failed check) must not leave its MLflow run active in this process: the
        # next run would log into it.
        if mlflow.active_run() is not None:
            mlflow.end_run()


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(
            url=settings.warehouse_url,
            lock_timeout_seconds=settings.lock_timeout_seconds,
            linger_seconds=settings.warehouse_linger_seconds,
            cluster=settings.clickhouse_cluster,
        ),
        "dataset": DatasetResource(
            spec=settings.dataset,
            synthetic_users=settings.synthetic_users,
            synthetic_items=settings.synthetic_items,
            synthetic_events=settings.synthetic_events,
            synthetic_seed=settings.synthetic_seed,
            home=str(settings.home),
        ),
        "api": ApiResource(url=settings.api_base_url, admin_token=settings.admin_token),
        "erasure": ErasureResource(
            home=str(settings.home), step_values_url=settings.step_values_url
        ),
        "quality": QualityResource(
            docs_dir=str(settings.quality_dir),
            epoch=settings.quality_epoch.isoformat(),
            min_coverage=settings.quality_min_coverage,
            max_invalid_rate=settings.quality_max_invalid_rate,
        ),
        "experiments": ExperimentsResource(
            experiments_file=str(settings.experiments_file or ""),
            attribution_hours=settings.attribution_hours,
            tracking_uri=settings.tracking_uri,
        ),
        "defaults": RunDefaults(
            **{name: getattr(settings, name) for name in RunDefaults.model_fields}
        ),
        "mlflow": mlflow_tracking.configured(
            {
                "experiment_name": MLFLOW_EXPERIMENT,
                "mlflow_tracking_uri": settings.tracking_uri,
                "artifact_location": settings.mlflow_artifacts_dir.as_uri(),
            }
        ),
        # Steps' values (the trained model, the bucket tasks) as pickles: under the instance's
        # storage folder, or at an object-store URL every pod reaches (fsspec: s3://, gs://...).
        "io_manager": dg.FilesystemIOManager(base_dir=settings.step_values_url or None),
    }
