"""Exports: one model version's tables in ClickHouse, then the switch that publishes them."""

import dagster as dg
import numpy as np

from recsys.foldin import ItemSide
from recsys.models.content import ContentRecommender
from recsys.settings import DEFAULT_EVENT_WEIGHTS, get_settings
from recsys.warehouse import exports, tables, versions
from recsys.warehouse.item_model import write_item_model
from recsys_assets.assets.ingest import events
from recsys_assets.assets.models import TrainedModel
from recsys_assets.resources import WarehouseResource
from recsys_assets.retries import retry_when_unavailable

GROUP = "exports"
REGISTERED_MODEL = "recsys"


class RecommendationsConfig(dg.Config):
    top_k: int = get_settings().top_k


class SimilarItemsConfig(dg.Config):
    top_k: int = 20
    # Items with fewer positive users than this take their neighbours from content similarity.
    min_users_for_collaborative: int = 5


class TrendingConfig(dg.Config):
    half_life_days: float = get_settings().trending_half_life_days
    limit: int = 1000  # per window: enough to fill filtered lists (a genre, a top-up)


def _progress(context: dg.AssetExecutionContext, what: str, every: int):
    """A callback that logs rows written at most every `every` rows."""
    state = {"next": every}

    def log(rows: int) -> None:
        if rows >= state["next"]:
            context.log.info(f"{what}: {rows:,} rows written")
            state["next"] = rows + every

    return log


def _content_model(store, model) -> ContentRecommender:
    """Content TF-IDF over the champion's items: the fallback for thin items and cold users."""
    with store.session() as client:
        catalogue = tables.catalogue(client)
    return ContentRecommender(catalogue).fit(model.train)


def _skipped(candidate: TrainedModel) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "model_version": candidate.version.model_version,
            "skipped": candidate.version.decision,
        }
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
@retry_when_unavailable
def user_recommendations(
    context: dg.AssetExecutionContext,
    config: RecommendationsConfig,
    candidate_model: TrainedModel,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Top-K items per user, already-seen and disliked items removed, tagged with the version."""
    if not candidate_model.publish:
        return _skipped(candidate_model)
    version = candidate_model.version.model_version
    model = candidate_model.model
    matrix = model.train
    frames = (
        exports.topk_frame(block, matrix.user_ids, matrix.item_ids, "user_id", "item_id")
        for block in model.recommend_all(config.top_k)
    )
    rows = exports.write_topk(
        warehouse.get(),
        "user_recommendations",
        version,
        model.name,
        frames,
        on_block=_progress(context, "user_recommendations", 500_000),
    )
    users = int(np.count_nonzero(np.diff(matrix.confidence.indptr)))
    context.log.info(f"{rows:,} recommendations for {users:,} users ({version})")
    return dg.MaterializeResult(
        metadata={"model_version": version, "rows": rows, "users": users, "top_k": config.top_k}
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
@retry_when_unavailable
def similar_items(
    context: dg.AssetExecutionContext,
    config: SimilarItemsConfig,
    candidate_model: TrainedModel,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Each item's nearest items: collaborative where enough users had it, else content."""
    if not candidate_model.publish:
        return _skipped(candidate_model)
    version = candidate_model.version.model_version
    model = candidate_model.model
    store = warehouse.get()
    content = _content_model(store, model)
    users_per_item = np.asarray((model.train.confidence > 0).sum(axis=0)).ravel()
    collaborative = users_per_item >= config.min_users_for_collaborative
    if model.name == content.name:
        collaborative[:] = False
    item_ids = model.train.item_ids
    written = {}
    for source, recommender, mask in (
        (model.name, model, collaborative),
        (content.name, content, ~collaborative),
    ):
        columns = np.flatnonzero(mask)
        frames = (
            exports.topk_frame(
                (rows, *recommender.similar(rows, config.top_k)),
                item_ids,
                item_ids,
                "item_id",
                "similar_item_id",
            )
            for rows in np.array_split(columns, max(1, len(columns) // 2048 + 1))
            if len(rows)
        )
        written[source] = exports.write_topk(
            store, "similar_items", version, source, frames, replace=source == model.name
        )
    context.log.info(f"similar items by source: {written}")
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "rows": sum(written.values()),
            **{
                f"items_from_{s}": int(m.sum())
                for s, m in ((model.name, collaborative), ("content", ~collaborative))
            },
        }
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
@retry_when_unavailable
def item_model(
    context: dg.AssetExecutionContext, candidate_model: TrainedModel, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The model's item side (factors or item-item weights, content vectors) for fold-in."""
    if not candidate_model.publish:
        return _skipped(candidate_model)
    version = candidate_model.version.model_version
    model = candidate_model.model
    store = warehouse.get()
    parts = model.fold_in_parts()
    side = ItemSide(
        item_ids=model.train.item_ids,
        content=_content_model(store, model).vectors,
        factors=parts.factors,
        item_weights=parts.item_weights,
        length_norm=parts.length_norm,
    )
    rows = write_item_model(store, version, side, on_block=_progress(context, "item_model", 20_000))
    spec = candidate_model.version.fold_in
    context.log.info(f"item side of {version}: {rows:,} items, fold-in {spec['collaborative']}")
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "rows": rows,
            "fold_in": spec["collaborative"],
            "factors": 0 if parts.factors is None else int(parts.factors.shape[1]),
            "item_weights": 0 if parts.item_weights is None else int(parts.item_weights.nnz),
            "content_terms": int(side.content.shape[1]),
        }
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"}, deps=[events])
@retry_when_unavailable
def trending_items(
    context: dg.AssetExecutionContext,
    config: TrendingConfig,
    candidate_model: TrainedModel,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Time-decayed popularity (half-life in days) up to the newest event: the fallback list."""
    if not candidate_model.publish:
        return _skipped(candidate_model)
    version = candidate_model.version.model_version
    with warehouse.get().session() as client:
        rows = exports.write_trending(
            client, version, DEFAULT_EVENT_WEIGHTS, config.half_life_days, config.limit
        )
    if not rows.get("decayed"):
        raise dg.Failure("no trending items: the events table has no positive events")
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "rows": sum(rows.values()),
            **{f"rows_{window}": n for window, n in rows.items()},
        }
    )


@dg.asset(
    group_name=GROUP,
    kinds={"clickhouse", "mlflow"},
    deps=[user_recommendations, similar_items, trending_items, item_model],
    required_resource_keys={"mlflow", "warehouse", "api"},
)
@retry_when_unavailable
def published_model(
    context: dg.AssetExecutionContext, candidate_model: TrainedModel
) -> dg.MaterializeResult:
    """Switch readers to this version in one insert (if it won), register it, prune old ones."""
    mlflow = context.resources.mlflow
    candidate = candidate_model.version
    store = context.resources.warehouse.get()
    if not candidate_model.publish:
        mlflow.end_run()
        with store.session() as client:
            serving = versions.published(client)
        context.log.warning(candidate.decision)
        return dg.MaterializeResult(
            metadata={
                "model_version": serving.model_version if serving else "",
                "published": False,
                "decision": candidate.decision,
            }
        )
    with store.session() as client:
        counts = exports.row_counts(client, candidate.model_version)
        missing = [table for table, rows in counts.items() if rows == 0]
        if missing:
            # Publishing would point readers at empty tables; keep serving the current version.
            raise dg.Failure(
                f"not publishing {candidate.model_version}: no rows in {', '.join(missing)}; "
                "materialise those assets for this model first"
            )
        version = versions.publish(client, candidate)
        dropped = versions.prune(client)
    store.notify_published(version.model_version)
    context.log.info(f"published {version.model_version}; pruned {len(dropped)} old versions")
    context.log.info(context.resources.api.announce_publication())
    registry_version = _register(mlflow, version)
    return dg.MaterializeResult(
        metadata={
            "model_version": version.model_version,
            "published": True,
            "decision": version.decision,
            "published_at": version.published_at.isoformat() if version.published_at else "",
            "registered_model": f"{REGISTERED_MODEL} v{registry_version} (alias champion)",
            "pruned_versions": dg.MetadataValue.json(dropped),
            **{f"{table}_rows": rows for table, rows in counts.items()},
        }
    )


def _register(mlflow, version: versions.ModelVersion) -> str:
    """Register the artifact in the MLflow model registry and point the `champion` alias at it."""
    client = mlflow.MlflowClient()
    run = client.get_run(version.mlflow_run_id)
    if not client.search_registered_models(filter_string=f"name = '{REGISTERED_MODEL}'"):
        client.create_registered_model(REGISTERED_MODEL)
    registered = client.create_model_version(
        REGISTERED_MODEL,
        source=f"{run.info.artifact_uri}/model",
        run_id=version.mlflow_run_id,
        tags={"model_version": version.model_version, "algorithm": version.algorithm},
    )
    client.set_registered_model_alias(REGISTERED_MODEL, "champion", registered.version)
    mlflow.end_run()
    return str(registered.version)
