"""Features: per-pair confidences aggregated in ClickHouse, and the sparse user x item matrix."""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from recsys.models.matrix import InteractionMatrix, build_matrix
from recsys.settings import DEFAULT_EVENT_WEIGHTS
from recsys.warehouse import ingestion, interaction_sql
from recsys_assets.assets.ingest import events, quarantined_events
from recsys_assets.resources import QualityResource, WarehouseResource
from recsys_assets.retries import retry_when_unavailable
from recsys_assets.run_config import InteractionsConfig, RunDefaults

GROUP = "features"


@dataclass(frozen=True)
class InteractionsSnapshot:
    """What the interactions table was built from, for the models downstream to record."""

    pairs: int
    events_ingested_until: datetime
    # How events became confidences, so request-time fold-in aggregates them the same way.
    event_weights: dict[str, float]
    decay_half_life_days: float
    newest_event: datetime | None  # the age reference of time decay


@dg.asset(group_name=GROUP, kinds={"clickhouse"}, deps=[events, quarantined_events])
@retry_when_unavailable
def interactions(
    context: dg.AssetExecutionContext,
    config: InteractionsConfig,
    warehouse: WarehouseResource,
    quality: QualityResource,
    defaults: RunDefaults,
) -> dg.Output[InteractionsSnapshot]:
    """One confidence per (user, item) from valid events: weights summed in ClickHouse;
    dislikes zero a pair."""
    config = config.resolved(defaults)
    unknown = set(config.event_weights) - set(DEFAULT_EVENT_WEIGHTS)
    if unknown:
        raise dg.Failure(f"event_weights names unknown event types: {sorted(unknown)}")
    with warehouse.get().session() as client:
        until = ingestion.latest_ingestion(client) or datetime.now(UTC)
        newest_event = interaction_sql.newest_event_time(client, quality.epoch_time)
        pairs = interaction_sql.rebuild_interactions(
            client, config.event_weights, quality.epoch_time, config.decay_half_life_days
        )
        users, items = client.query(
            "SELECT uniqExact(user_id), uniqExact(item_id) FROM interactions"
        ).result_rows[0]
    context.log.info(f"{pairs:,} (user, item) pairs from {users:,} users and {items:,} items")
    return dg.Output(
        InteractionsSnapshot(
            pairs=pairs,
            events_ingested_until=until,
            event_weights=dict(config.event_weights),
            decay_half_life_days=config.decay_half_life_days,
            newest_event=newest_event,
        ),
        metadata={
            "pairs": pairs,
            "users": int(users),
            "items": int(items),
            "run_config_from_settings": dg.MetadataValue.json(config.used()),
        },
    )


@dataclass(frozen=True)
class MatrixSnapshot:
    matrix: InteractionMatrix
    interactions: InteractionsSnapshot

    @property
    def events_ingested_until(self) -> datetime:
        return self.interactions.events_ingested_until


@dg.asset(group_name=GROUP)
@retry_when_unavailable
def interaction_matrix(
    context: dg.AssetExecutionContext,
    interactions: InteractionsSnapshot,
    warehouse: WarehouseResource,
) -> dg.Output[MatrixSnapshot]:
    """The sparse user x item confidence matrix with its row and column id maps."""
    with warehouse.get().session() as client:
        matrix = build_matrix(interaction_sql.stream_interactions(client))
    users, items = matrix.shape
    context.log.info(f"matrix {users:,} x {items:,}, {matrix.seen.nnz:,} non-zeros")
    return dg.Output(
        MatrixSnapshot(matrix=matrix, interactions=interactions),
        metadata={
            "users": users,
            "items": items,
            "nonzeros": int(matrix.seen.nnz),
            "density": float(matrix.density),
        },
    )
