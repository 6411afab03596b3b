"""Model selection and the candidate model: tuned per family, compared, refitted on all data."""

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from recsys.evaluation.publication import publication_role
from recsys.evaluation.selection_results import Selection, Trial
from recsys.foldin import FoldInSpec
from recsys.foldin.blend import Blend
from recsys.models.base import Recommender
from recsys.models.content import ContentRecommender
from recsys.models.matrix import InteractionMatrix
from recsys.training.selection import (
    OBJECTIVE,
    SelectionConfig,
    build_model,
    select,
)
from recsys.warehouse import interaction_sql, item_reads, versions
from recsys.warehouse.roles import CHAMPION
from recsys_assets.assets.matrices import InteractionsSnapshot, MatrixSnapshot
from recsys_assets.progress import Progress
from recsys_assets.resources import WarehouseResource
from recsys_assets.retries import retry_when_unavailable
from recsys_assets.run_config import PublicationConfig, SelectionRunConfig
from recsys_assets.selection_report import REPORTED, metrics_table

GROUP = "models"


@dataclass
class ModelChoice:
    selection: Selection
    config: SelectionConfig  # what the search used: the refit builds the champion the same way
    min_improve: float
    # How request-time fold-in blends in content for users with few interactions.
    collab_weight: float
    min_interactions_for_collab: int


@dg.asset(
    group_name=GROUP,
    kinds={"python", "mlflow"},
    required_resource_keys={"mlflow", "warehouse", "defaults"},
)
@retry_when_unavailable
def model_selection(
    context: dg.AssetExecutionContext,
    config: SelectionRunConfig,
    interactions: InteractionsSnapshot,
) -> dg.Output[ModelChoice]:
    """Tune every model family on a temporal validation split; champion by NDCG@10."""
    config = config.resolved(context.resources.defaults)
    selection_config = config.to_selection_config()
    mlflow = context.resources.mlflow
    with context.resources.warehouse.get().session() as client:
        pairs, all_users = interaction_sql.interaction_pairs(client, config.max_users)
        items = item_reads.frame(client)
        incumbent = versions.published(client)
    if pairs.empty:
        raise dg.Failure("no interactions to train on: the events table holds no usable events")
    sampled_users = pairs["user_id"].nunique()
    if sampled_users < all_users:
        context.log.info(
            f"tuning and evaluating on {sampled_users:,} of {all_users:,} users "
            f"({len(pairs):,} pairs), a fixed sample by user id hash"
        )

    def log_trial(trial: Trial) -> None:
        context.log.info(
            f"{trial.family} {OBJECTIVE}={trial.metrics[OBJECTIVE]:.4f} "
            f"({trial.fit_seconds:.1f} s) {trial.params}"
        )
        with mlflow.start_run(nested=True, run_name=f"trial-{trial.family}"):
            mlflow.set_tag("family", trial.family)
            mlflow.log_params({k: str(v) for k, v in trial.params.items()})
            mlflow.log_metrics({f"val_{k}": v for k, v in trial.metrics.items() if k in REPORTED})

    selection = select(
        pairs,
        items,
        selection_config,
        on_trial=log_trial,
        incumbent=(incumbent.algorithm, incumbent.params) if incumbent else None,
        feature_store=context.resources.warehouse.get(),
    )
    champion = selection.champion_result
    context.log.info(f"champion: {selection.champion} {champion.best.params}")
    return dg.Output(
        ModelChoice(
            selection=selection,
            config=selection_config,
            min_improve=config.min_improve,
            collab_weight=config.collab_weight,
            min_interactions_for_collab=config.min_interactions_for_collab,
        ),
        metadata={
            "champion": selection.champion,
            "champion_params": dg.MetadataValue.json(champion.best.params),
            "metrics": dg.MetadataValue.md(metrics_table(selection, selection_config.retrieval_n)),
            **{
                f"champion_{k}": float(champion.test_metrics[k])
                for k in REPORTED
                if k in champion.test_metrics
            },
            "popularity_ndcg_at_10": float(selection.baseline_test["ndcg_at_10"]),
            "users_evaluated": sampled_users,
            "evaluation": selection_config.split.describe(),
            "candidate_recall_union": selection.retrieval_recall.get("union", 0.0),
            "users_total": all_users,
            "run_config_from_settings": dg.MetadataValue.json(config.used()),
        },
    )


@dg.asset(group_name=GROUP, kinds={"python"})
@retry_when_unavailable
def content_model(
    context: dg.AssetExecutionContext,
    interaction_matrix: MatrixSnapshot,
    warehouse: WarehouseResource,
) -> dg.Output[ContentRecommender]:
    """TF-IDF of each trained item's genres, tags, title words and decade: neighbours for items
    too few users had, and the content side of request-time fold-in."""
    item_ids = interaction_matrix.matrix.item_ids
    with warehouse.get().session() as client:
        catalogue = item_reads.frame(client)
    # Only the item order matters here: no need to carry (and store) the user rows.
    items_only = InteractionMatrix.empty(item_ids)
    content = ContentRecommender(catalogue).fit(items_only)
    context.log.info(
        f"content vectors: {len(item_ids):,} items, {content.vectors.shape[1]:,} terms"
    )
    return dg.Output(
        content,
        metadata={"items": len(item_ids), "terms": int(content.vectors.shape[1])},
    )


@dataclass
class TrainedModel:
    version: versions.ModelVersion
    model: Recommender
    event_weights: dict[str, float]  # the weights `interactions` used in this run
    role: str = CHAMPION  # the role `published_model` publishes it in


# The publish gate, said once: a retrained model that does not beat the published one is
# recorded (model_versions, MLflow, an observation with the reason) but not produced, so Dagster
# skips every export, check and the publication downstream of it and the run still succeeds.
@dg.asset(
    group_name=GROUP,
    kinds={"python", "mlflow"},
    required_resource_keys={"mlflow", "warehouse"},
    output_required=False,
)
@retry_when_unavailable
def candidate_model(
    context: dg.AssetExecutionContext,
    config: PublicationConfig,
    model_selection: ModelChoice,
    interaction_matrix: MatrixSnapshot,
):
    """The champion refitted on all data, produced only if it should replace the published one."""
    selection = model_selection.selection
    champion = selection.champion_result
    with context.resources.warehouse.get().session() as client:
        items = item_reads.frame(client)
    model = build_model(champion.family, champion.best.params, items, model_selection.config)
    # The holdout chose the model; serving uses all data (`recsys.models.lifecycle`: features
    # from the warehouse as of now, what the champion rule measured kept, progress reported).
    model.attach_live(context.resources.warehouse.get(), datetime.now(UTC))
    model.adopt_tested(champion.tested_booster)

    def progress_for(label: str, total: int, unit: str) -> Progress:
        return Progress(context.log.info, label, total=total, unit=unit)

    model.fit_with_progress(interaction_matrix.matrix, progress_for)
    role, reason = publication_role(
        champion.test_metrics,
        selection.incumbent_test,
        model_selection.min_improve,
        config.role,
        config.challenger_margin,
    )
    publish = role is not None
    users, n_items = interaction_matrix.matrix.shape
    version = versions.ModelVersion(
        model_version=versions.new_version_id(champion.family),
        algorithm=champion.family,
        trained_at=datetime.now(UTC),
        events_ingested_until=interaction_matrix.events_ingested_until,
        params=champion.best.params,
        metrics={k: float(v) for k, v in champion.test_metrics.items() if k in REPORTED},
        baseline_metrics={k: float(v) for k, v in selection.baseline_test.items() if k in REPORTED},
        status="candidate" if publish else "rejected",
        n_users=users,
        n_items=n_items,
        decision=reason,
        evaluation=model_selection.config.split.describe(),
        fold_in=fold_in_spec(model, model_selection, interaction_matrix.interactions).to_json(),
    )
    version.mlflow_run_id = _track(context.resources.mlflow, version, model)
    with context.resources.warehouse.get().session() as client:
        versions.record(client, version)
    metadata = {
        "model_version": version.model_version,
        "algorithm": version.algorithm,
        "publish": publish,
        "role": role or "",
        "decision": reason,
        "mlflow_run_id": version.mlflow_run_id,
    }
    if not publish:
        context.log.warning(reason)
        context.log_event(dg.AssetObservation(asset_key=context.asset_key, metadata=metadata))
        return
    context.log.info(reason)
    weights = interaction_matrix.interactions.event_weights
    yield dg.Output(TrainedModel(version, model, weights, role), metadata=metadata)


def fold_in_spec(
    model: Recommender, choice: ModelChoice, signal: InteractionsSnapshot
) -> FoldInSpec:
    """How the API scores users at request time with this model (see `recsys.foldin`)."""
    return FoldInSpec.of(
        model.name,
        model.fold_in_parts(),
        Blend(choice.collab_weight, choice.min_interactions_for_collab),
        signal.event_weights,
        decay_half_life_days=signal.decay_half_life_days,
        decay_reference=signal.newest_event.isoformat() if signal.newest_event else "",
        explained=model.explains_itself,
    )


def _track(mlflow, version: versions.ModelVersion, model: Recommender) -> str:
    """Log the champion's params, metrics and `.npz` artifact to this run's MLflow run."""
    mlflow.set_tags(
        {
            "model_version": version.model_version,
            "algorithm": version.algorithm,
            "evaluation": version.evaluation,
        }
    )
    mlflow.log_params({k: str(v) for k, v in version.params.items()})
    mlflow.log_metrics({f"test_{k}": v for k, v in version.metrics.items()})
    mlflow.log_metrics({f"popularity_{k}": v for k, v in version.baseline_metrics.items()})
    report = model.tracking_report()
    for path, document in report.documents.items():
        mlflow.log_dict(document, path)
    if report.metrics:
        mlflow.log_metrics(report.metrics)
    with tempfile.TemporaryDirectory() as scratch:
        mlflow.log_artifact(str(model.save(Path(scratch) / "model.npz")), artifact_path="model")
    return mlflow.active_run().info.run_id
