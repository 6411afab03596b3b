"""The one job: load, build features, train, check, export and publish a model version."""

import dagster as dg

# Runs carrying this tag go one at a time (dagster.yaml's run queue); automation looks for it.
RETRAIN_TAG = "recsys/retrain"

# Steps run one after another in the run's own process: each step would otherwise pay several
# seconds to spawn a process and import implicit/mlflow, and the embedded warehouse serves one
# process at a time anyway.
full_pipeline = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("experiments"),
    executor_def=dg.in_process_executor,
    description="Load data, build features, train, export and publish a new model version.",
    tags={RETRAIN_TAG: "true"},
)


# Experiments' results: hourly and on demand, apart from retraining (it reads impressions and
# events, and may promote a challenger). Not named like its asset: a job and an op of one name
# make the repository fail to load in a code server (`dagster api grpc`).
experiment_results_job = dg.define_asset_job(
    "compute_experiment_results",
    selection=dg.AssetSelection.groups("experiments"),
    executor_def=dg.in_process_executor,
    description="Compute every running experiment's results; promote where evidence allows.",
)
