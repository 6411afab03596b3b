"""The published model: what it is and how well it did offline."""

from __future__ import annotations

from fastapi import APIRouter

from serving.http.dependencies import SnapshotDep
from serving.http.schemas import ModelInfo, ModelMetrics

router = APIRouter(tags=["model"])


def _metrics(values: dict[str, float]) -> ModelMetrics:
    return ModelMetrics(
        ndcg_at_10=values.get("ndcg_at_10"),
        precision_at_10=values.get("precision_at_10"),
        recall_at_10=values.get("recall_at_10"),
        map_at_10=values.get("map_at_10"),
        coverage=values.get("coverage_at_10"),
    )


@router.get("/model", response_model=ModelInfo)
def model(snapshot: SnapshotDep) -> ModelInfo:
    """The published model version, its params, and its offline metrics against popularity."""
    version = snapshot.version
    return ModelInfo(
        model_version=version.model_version,
        trained_at=version.trained_at,
        published_at=version.published_at,
        algorithm=version.algorithm,
        params=version.params,
        metrics=_metrics(version.metrics),
        baseline_metrics={"popularity": _metrics(version.baseline_metrics)},
        decision=version.decision,
        evaluation=version.evaluation,
    )
