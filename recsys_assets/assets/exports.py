"""Exports: one model version's tables in ClickHouse, then the switch that publishes them."""

import dagster as dg

from recsys.models.als import similar_items as als_similar_items
from recsys.models.als import top_k_for_users
from recsys.settings import DEFAULT_EVENT_WEIGHTS, get_settings
from recsys.warehouse import exports, versions
from recsys_assets.assets.features import MatrixSnapshot
from recsys_assets.assets.ingest import events
from recsys_assets.assets.models import TrainedModel
from recsys_assets.resources import WarehouseResource

GROUP = "exports"


class RecommendationsConfig(dg.Config):
    top_k: int = get_settings().top_k


class SimilarItemsConfig(dg.Config):
    top_k: int = 20


class TrendingConfig(dg.Config):
    half_life_days: float = get_settings().trending_half_life_days
    limit: int = 200


def _progress(context: dg.AssetExecutionContext, what: str, every: int):
    """A callback that logs rows written at most every `every` rows."""
    state = {"next": every}

    def log(rows: int) -> None:
        if rows >= state["next"]:
            context.log.info(f"{what}: {rows:,} rows written")
            state["next"] = rows + every

    return log


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
def user_recommendations(
    context: dg.AssetExecutionContext,
    config: RecommendationsConfig,
    als_model: TrainedModel,
    interaction_matrix: MatrixSnapshot,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Top-K items per user, already-seen and disliked items removed, tagged with the version."""
    version = als_model.version.model_version
    store = warehouse.get()
    matrix = interaction_matrix.matrix
    frames = (
        exports.topk_frame(block, matrix.user_ids, matrix.item_ids, "user_id", "item_id")
        for block in top_k_for_users(als_model.model, matrix, config.top_k)
    )
    rows = exports.write_topk(
        store,
        "user_recommendations",
        version,
        "als",
        frames,
        on_block=_progress(context, "user_recommendations", 500_000),
    )
    users = matrix.shape[0]
    context.log.info(f"{rows:,} recommendations for {users:,} users ({version})")
    return dg.MaterializeResult(
        metadata={"model_version": version, "rows": rows, "users": users, "top_k": config.top_k}
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
def similar_items(
    context: dg.AssetExecutionContext,
    config: SimilarItemsConfig,
    als_model: TrainedModel,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """The K nearest items of every item by cosine similarity of their ALS factors."""
    version = als_model.version.model_version
    model = als_model.model
    frames = (
        exports.topk_frame(block, model.item_ids, model.item_ids, "item_id", "similar_item_id")
        for block in als_similar_items(model, config.top_k)
    )
    rows = exports.write_topk(
        warehouse.get(),
        "similar_items",
        version,
        "als",
        frames,
        on_block=_progress(context, "similar_items", 500_000),
    )
    return dg.MaterializeResult(metadata={"model_version": version, "rows": rows})


@dg.asset(group_name=GROUP, kinds={"clickhouse"}, deps=[events])
def trending_items(
    context: dg.AssetExecutionContext,
    config: TrendingConfig,
    als_model: TrainedModel,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Time-decayed popularity (half-life in days) up to the newest event: the fallback list."""
    version = als_model.version.model_version
    with warehouse.get().session() as client:
        rows = exports.write_trending(
            client, version, DEFAULT_EVENT_WEIGHTS, config.half_life_days, config.limit
        )
    if rows == 0:
        raise dg.Failure("no trending items: the events table has no positive events")
    return dg.MaterializeResult(metadata={"model_version": version, "rows": rows})


@dg.asset(
    group_name=GROUP,
    kinds={"clickhouse"},
    deps=[user_recommendations, similar_items, trending_items],
)
def published_model(
    context: dg.AssetExecutionContext, als_model: TrainedModel, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Switch readers to this version's tables in one insert, then drop versions past retention."""
    store = warehouse.get()
    model_version = als_model.version.model_version
    with store.session() as client:
        counts = exports.row_counts(client, model_version)
        missing = [table for table, rows in counts.items() if rows == 0]
        if missing:
            # Publishing would point readers at empty tables; keep serving the current version.
            raise dg.Failure(
                f"not publishing {model_version}: no rows in {', '.join(missing)}; "
                "materialise those assets for this model first"
            )
        version = versions.publish(client, als_model.version)
        dropped = versions.prune(client)
    store.notify_published(version.model_version)
    context.log.info(f"published {version.model_version}; pruned {len(dropped)} old versions")
    return dg.MaterializeResult(
        metadata={
            "model_version": version.model_version,
            "published_at": version.published_at.isoformat() if version.published_at else "",
            **{f"{table}_rows": rows for table, rows in counts.items()},
            "pruned_versions": dg.MetadataValue.json(dropped),
        }
    )
