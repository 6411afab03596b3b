"""Exports: one model version's tables in ClickHouse, then the switch that publishes them."""

import dagster as dg
import numpy as np

from recsys.foldin import ItemSide
from recsys.models.content import ContentRecommender
from recsys.training import generation
from recsys.warehouse import bundles, exports, versions
from recsys.warehouse.item_model import write_content_terms, write_item_model
from recsys_assets.assets.ingest import events
from recsys_assets.assets.models import TrainedModel
from recsys_assets.assets.user_lists import user_recommendations, withheld_items
from recsys_assets.erasures import erase_again
from recsys_assets.progress import Progress
from recsys_assets.registry import REGISTERED_MODEL, register, sync_aliases
from recsys_assets.resources import QualityResource, WarehouseResource
from recsys_assets.retries import retry_when_unavailable
from recsys_assets.run_config import RunDefaults, SimilarItemsConfig, TrendingConfig

GROUP = "exports"


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
@retry_when_unavailable
def similar_items(
    context: dg.AssetExecutionContext,
    config: SimilarItemsConfig,
    candidate_model: TrainedModel,
    content_model: ContentRecommender,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """Each item's nearest items: collaborative where enough users had it, else content."""
    version = candidate_model.version.model_version
    model = candidate_model.model
    content = content_model
    store = warehouse.get()
    users_per_item = np.asarray((model.train.confidence > 0).sum(axis=0)).ravel()
    collaborative = users_per_item >= config.min_users_for_collaborative
    if model.name == content.name:
        collaborative[:] = False
    item_ids = model.train.item_ids
    id_dictionary = exports.id_array(item_ids)
    withheld = withheld_items(store, item_ids, context)
    k = config.top_k + min(int(withheld.sum()), config.top_k)
    progress = Progress(context.log.info, "similar_items", total=len(item_ids), unit="items")
    done = 0
    written = {}
    for source, recommender, mask in (
        (model.name, model, collaborative),
        (content.name, content, ~collaborative),
    ):

        def tables(recommender=recommender, mask=mask, source=source):
            nonlocal done
            for rows, neighbours, scores in generation.neighbour_lists(
                recommender, np.flatnonzero(mask), k
            ):
                yield exports.topk_table(
                    rows,
                    neighbours,
                    scores,
                    item_ids,
                    id_dictionary,
                    ("item_id", "similar_item_id"),
                    version,
                    source,
                    withheld,
                    config.top_k,
                )
                done += len(rows)
                progress(done, f"from {source}")

        # The first source replaces what an earlier attempt left; the second appends.
        written[source] = exports.write_topk(
            store, "similar_items", version, tables(), replace=source == model.name
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
    context: dg.AssetExecutionContext,
    candidate_model: TrainedModel,
    content_model: ContentRecommender,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    """The model's item side (factors or item-item weights, content vectors) for fold-in."""
    version = candidate_model.version.model_version
    model = candidate_model.model
    store = warehouse.get()
    parts = model.fold_in_parts()
    side = ItemSide(
        item_ids=model.train.item_ids,
        content=content_model.vectors,
        factors=parts.factors,
        item_weights=parts.item_weights,
        length_norm=parts.length_norm,
    )
    progress = Progress(context.log.info, "item_model", total=len(side.item_ids), unit="items")
    rows = write_item_model(store, version, side, on_block=progress)
    terms = write_content_terms(store, version, content_model.vocabulary)
    context.log.info(f"item side of {version}: {rows:,} items, fold-in {parts.kind}")
    served = model.serving_bundles(store)  # the family's own request-time data, if any
    with store.session() as client:
        bundles.write_all(client, version, served)
    bundle_mb = sum(len(data) for data in served.values()) / 2**20
    for name, data in served.items():
        context.log.info(f"{name} bundle of {version}: {len(data) / 2**20:.1f} MB")
    return dg.MaterializeResult(
        metadata={
            "model_version": version,
            "rows": rows,
            "fold_in": parts.kind,
            "factors": 0 if parts.factors is None else int(parts.factors.shape[1]),
            "item_weights": 0 if parts.item_weights is None else int(parts.item_weights.nnz),
            "content_terms": terms,
            "ranker_bundle_mb": bundle_mb,
        }
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"}, deps=[events])
@retry_when_unavailable
def trending_items(
    context: dg.AssetExecutionContext,
    config: TrendingConfig,
    candidate_model: TrainedModel,
    warehouse: WarehouseResource,
    quality: QualityResource,
    defaults: RunDefaults,
) -> dg.MaterializeResult:
    """Time-decayed popularity (half-life in days) up to the newest event: the fallback list."""
    config = config.resolved(defaults)
    version = candidate_model.version.model_version
    with warehouse.get().session() as client:
        rows = exports.write_trending(
            client,
            version,
            candidate_model.event_weights,  # as `interactions` weighted them this run
            config.half_life_days,
            quality.epoch_time,
            config.limit,
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
    required_resource_keys={"mlflow", "warehouse", "api", "quality", "erasure"},
)
@retry_when_unavailable
def published_model(
    context: dg.AssetExecutionContext, candidate_model: TrainedModel
) -> dg.MaterializeResult:
    """Switch readers to this version in one insert, register it, prune old ones."""
    mlflow = context.resources.mlflow
    candidate = candidate_model.version
    store = context.resources.warehouse.get()
    with store.session() as client:
        counts = exports.row_counts(client, candidate.model_version)
        missing = [table for table, rows in counts.items() if rows == 0]
        if missing:
            # Publishing would point readers at empty tables; keep serving the current version.
            raise dg.Failure(
                f"not publishing {candidate.model_version}: no rows in {', '.join(missing)}; "
                "materialise those assets for this model first"
            )
    # A user erased after this run read its events must not be served again by it.
    erased_again = erase_again(
        context, store, context.resources.erasure, context.resources.quality.docs_dir
    )
    role = candidate_model.role  # a retrain replaces the version in its own role only
    with store.session() as client:
        version = versions.publish(client, candidate, role=role)
        dropped = versions.prune(client)
        served = versions.served(client)
    store.notify_published(version.model_version, role=role)
    context.log.info(
        f"published {version.model_version} as {role}; pruned {len(dropped)} old versions"
    )
    context.log.info(context.resources.api.announce_publication())
    registry_version = register(mlflow, version)
    sync_aliases(mlflow.MlflowClient(), served)
    return dg.MaterializeResult(
        metadata={
            "model_version": version.model_version,
            "published": True,
            "role": role,
            "decision": version.decision,
            "published_at": version.published_at.isoformat() if version.published_at else "",
            "registered_model": f"{REGISTERED_MODEL} v{registry_version} (alias {role})",
            "pruned_versions": dg.MetadataValue.json(dropped),
            "users_erased_again": erased_again,
            **{f"{table}_rows": rows for table, rows in counts.items()},
        }
    )
