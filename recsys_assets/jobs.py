"""The one job: load, build features, train, check, export and publish a model version."""

import dagster as dg

# Runs carrying this tag go one at a time (dagster.yaml's run queue); automation looks for it.
RETRAIN_TAG = "recsys/retrain"

FULL_PIPELINE = "full_pipeline"


def full_pipeline_job(executor: str = "in_process"):
    """The retraining job, its steps run by the executor RECSYS_PIPELINE_EXECUTOR names."""
    return dg.define_asset_job(
        FULL_PIPELINE,
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups("experiments"),
        executor_def=executor_named(executor),
        description="Load data, build features, train, export and publish a new model version.",
        tags={RETRAIN_TAG: "true"},
    )


def executor_named(name: str) -> dg.ExecutorDefinition:
    """in_process (the default): every step in the run's own process; a spawned step costs
    seconds of imports (implicit, mlflow) that the first run and small retrains should not pay.
    multiprocess: a process per step (as many at once as cores), so user buckets run side by
    side. k8s: a Kubernetes job per step (dagster-k8s, with an object-store IO manager so the
    pods share the steps' values; deploy/helm)."""
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        return dg.multiprocess_executor
    if name == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as missing:
            raise RuntimeError(
                "RECSYS_PIPELINE_EXECUTOR=k8s needs dagster-k8s: pip install '.[k8s]'"
            ) from missing
        return k8s_job_executor
    raise ValueError(f"unknown executor {name!r}: in_process, multiprocess or k8s")


# Experiments' results: hourly and on demand, apart from retraining (it reads impressions and
# events, and may promote a challenger). Not named like its asset: a job and an op of one name
# make the repository fail to load in a code server (`dagster api grpc`).
experiment_results_job = dg.define_asset_job(
    "compute_experiment_results",
    selection=dg.AssetSelection.groups("experiments"),
    executor_def=dg.in_process_executor,
    description="Compute every running experiment's results; promote where evidence allows.",
)
