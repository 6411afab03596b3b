"""The Dagster code location: `dagster dev -m recsys_assets.definitions` or workspace.yaml."""

import dagster as dg

from recsys.settings import get_settings
from recsys_assets.assets import exports, features, ingest, models
from recsys_assets.checks import all_checks
from recsys_assets.resources import build_resources

all_assets = dg.load_assets_from_modules([ingest, features, models, exports])

# Steps run one after another in the run's own process: each step would otherwise pay several
# seconds to spawn a process and import implicit/mlflow, and the embedded warehouse serves one
# process at a time anyway.
full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load data, build features, train, export and publish a new model version.",
    # The instance's run queue lets one run with this tag go at a time (dagster.yaml).
    tags={"recsys/retrain": "true"},
)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[full_pipeline],
    resources=build_resources(get_settings()),
    executor=dg.in_process_executor,
)
