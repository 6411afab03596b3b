"""Trained models. Each materialisation is a new candidate version, tracked in MLflow."""

import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from recsys.models.als import ALSModel, ALSParams, fit_als
from recsys.settings import get_settings
from recsys.warehouse import versions
from recsys_assets.assets.features import MatrixSnapshot

GROUP = "models"


class ALSConfig(dg.Config):
    factors: int = get_settings().als_factors
    regularization: float = get_settings().als_regularization
    iterations: int = get_settings().als_iterations
    alpha: float = 1.0


@dataclass
class TrainedModel:
    version: versions.ModelVersion
    model: ALSModel


@dg.asset(
    group_name=GROUP, kinds={"python", "mlflow"}, required_resource_keys={"mlflow", "warehouse"}
)
def als_model(
    context: dg.AssetExecutionContext, config: ALSConfig, interaction_matrix: MatrixSnapshot
) -> dg.Output[TrainedModel]:
    """Implicit-feedback ALS on the confidence matrix; params, metrics and factors go to MLflow."""
    matrix = interaction_matrix.matrix
    params = ALSParams(
        factors=config.factors,
        regularization=config.regularization,
        iterations=config.iterations,
        alpha=config.alpha,
    )
    try:
        model = fit_als(matrix, params)
    except ValueError as error:
        raise dg.Failure(f"ALS training failed: {error}") from error
    users, items = matrix.shape
    metrics = {
        "fit_seconds": round(model.fit_seconds, 3),
        "users": users,
        "items": items,
        "nonzeros": int(matrix.confidence.nnz),
    }
    version = versions.ModelVersion(
        model_version=versions.new_version_id("als"),
        algorithm="als",
        trained_at=datetime.now(UTC),
        events_ingested_until=interaction_matrix.events_ingested_until,
        params=asdict(params),
        metrics=metrics,
        n_users=users,
        n_items=items,
    )
    version.mlflow_run_id = _track(context.resources.mlflow, version, model)
    with context.resources.warehouse.get().session() as client:
        versions.record(client, version)
    context.log.info(f"trained {version.model_version} in {model.fit_seconds:.2f} s")
    return dg.Output(
        TrainedModel(version=version, model=model),
        metadata={
            "model_version": version.model_version,
            "mlflow_run_id": version.mlflow_run_id,
            **{name: float(value) for name, value in metrics.items()},
            "params": dg.MetadataValue.json(asdict(params)),
        },
    )


def _track(mlflow, version: versions.ModelVersion, model: ALSModel) -> str:
    """Log params, metrics and the `.npz` artifact to this Dagster run's MLflow run, then end it."""
    mlflow.set_tags({"model_version": version.model_version, "algorithm": version.algorithm})
    mlflow.log_params(version.params)
    mlflow.log_metrics({name: float(value) for name, value in version.metrics.items()})
    with tempfile.TemporaryDirectory() as scratch:
        mlflow.log_artifact(str(model.save(Path(scratch) / "model.npz")), artifact_path="model")
    run_id = mlflow.active_run().info.run_id
    # dagster-mlflow's end-of-run hook only works for op jobs; close the run ourselves.
    mlflow.end_run()
    return run_id
