"""Source data: the catalogue and the event log, loaded from the configured dataset."""

import dagster as dg

from recsys.warehouse import tables
from recsys_assets.progress import Progress
from recsys_assets.resources import DatasetResource, WarehouseResource
from recsys_assets.retries import retry_when_unavailable

GROUP = "ingest"


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
@retry_when_unavailable
def items(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, dataset: DatasetResource
) -> dg.MaterializeResult:
    """The catalogue (id, title, genres, tags, year), upserted from the configured dataset."""
    catalogue = dataset.open().items()
    with warehouse.get().session() as client:
        tables.insert_items(client, catalogue)
        total = client.query("SELECT count() FROM items FINAL").result_rows[0][0]
    context.log.info(f"upserted {len(catalogue):,} items; catalogue now holds {total:,}")
    return dg.MaterializeResult(
        metadata={
            "items_in_dataset": len(catalogue),
            "items_total": int(total),
            "preview": dg.MetadataValue.md(catalogue.head(10).to_markdown(index=False)),
        }
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"}, deps=[items])
@retry_when_unavailable
def events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, dataset: DatasetResource
) -> dg.MaterializeResult:
    """The event log: the dataset's events (loaded once) plus every event posted to the API."""
    source = dataset.open()
    store = warehouse.get()
    with store.session() as client:
        already_loaded = tables.dataset_loaded(client, source.fingerprint)
    loaded = 0
    if already_loaded:
        context.log.info(f"{source.fingerprint} is already loaded; keeping the events table")
    else:
        progress = Progress(context.log.info, "events loaded", unit="events")
        # Each chunk is its own short session: the API can write between chunks. Event ids are
        # deterministic, so re-running an interrupted load stores each event once.
        loaded = tables.load_event_stream(store, source.events(), on_chunk=progress)
        rate = loaded / max(progress.elapsed, 1e-9)
        context.log.info(f"loaded {loaded:,} events in {progress.elapsed:.1f} s ({rate:,.0f}/s)")
        with store.session() as client:
            n_items = client.query("SELECT count() FROM items FINAL").result_rows[0][0]
            tables.record_dataset_load(client, source.fingerprint, source.name, n_items, loaded)
    with store.session() as client:
        counts = tables.event_counts_by_type(client)
        orphans = tables.events_with_unknown_items(client)
    total = sum(counts.values())
    if orphans:
        context.log.warning(
            f"{orphans:,} events name items missing from the catalogue; "
            "they stay in the log but are left out of training"
        )
    return dg.MaterializeResult(
        metadata={
            "dataset": source.fingerprint,
            "events_loaded_now": loaded,
            "events_total": total,
            "events_with_unknown_items": orphans,
            "events_by_type": dg.MetadataValue.md(
                "| event_type | events |\n|---|---|\n"
                + "\n".join(f"| {t} | {n:,} |" for t, n in counts.items())
            ),
        }
    )
