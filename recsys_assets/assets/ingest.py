"""Source data: the catalogue and the event log, loaded from the configured dataset."""

import dagster as dg

from recsys.warehouse import item_reads, quarantine, source_tables
from recsys_assets.progress import Progress
from recsys_assets.resources import DatasetResource, QualityResource, WarehouseResource
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
        source_tables.insert_items(client, catalogue)
        total = item_reads.item_count(client)
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
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    dataset: DatasetResource,
    quality: QualityResource,
) -> dg.MaterializeResult:
    """The event log: the dataset's events (loaded once) plus every event posted to the API."""
    source = dataset.open()
    store = warehouse.get()
    with store.session() as client:
        already_loaded = source_tables.dataset_loaded(client, source.fingerprint)
    loaded = refused = 0
    if already_loaded:
        context.log.info(f"{source.fingerprint} is already loaded; keeping the events table")
    else:
        progress = Progress(context.log.info, "events loaded", unit="events")
        # Each chunk is its own short session: the API can write between chunks. Event ids are
        # deterministic, so re-running an interrupted load stores each event once.
        loaded, refused = source_tables.load_event_stream(
            store, source.events(), quality.epoch_time, on_chunk=progress
        )
        rate = (loaded + refused) / max(progress.elapsed, 1e-9)
        context.log.info(f"loaded {loaded:,} events in {progress.elapsed:.1f} s ({rate:,.0f}/s)")
        if refused:
            context.log.warning(
                f"{refused:,} events of the dataset break the event rule: refused into "
                "quarantined_events (origin 'writer'), with the field and the reason"
            )
        with store.session() as client:
            n_items = item_reads.item_count(client)
            source_tables.record_dataset_load(
                client, source.fingerprint, source.name, n_items, loaded
            )
    with store.session() as client:
        counts = source_tables.event_counts_by_type(client)
        orphans = source_tables.events_with_unknown_items(client)
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
            "events_refused_now": refused,
            "events_total": total,
            "events_with_unknown_items": orphans,
            "events_by_type": dg.MetadataValue.md(
                "| event_type | events |\n|---|---|\n"
                + "\n".join(f"| {t} | {n:,} |" for t, n in counts.items())
            ),
        }
    )


@dg.asset(group_name=GROUP, kinds={"clickhouse"}, deps=[events])
@retry_when_unavailable
def quarantined_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, quality: QualityResource
) -> dg.MaterializeResult:
    """Events left out of training: refused by a writer, or invalid rows found in the log."""
    with warehouse.get().session() as client:
        found = quarantine.rebuild_from_events(client, quality.epoch_time)
        by_origin = quarantine.counts(client)
        sample = quarantine.sample(client)
    in_log = sum(found.values())
    refused = sum(by_origin.get(quarantine.WRITER, {}).values())
    if in_log:
        context.log.warning(
            f"{in_log:,} invalid events in the log are left out of training: "
            + ", ".join(f"{field} {n:,}" for field, n in found.items())
        )
    table = "| origin | field | events |\n|---|---|---|\n" + "\n".join(
        f"| {origin} | {field} | {n:,} |"
        for origin, fields in by_origin.items()
        for field, n in fields.items()
    )
    return dg.MaterializeResult(
        metadata={
            "invalid_in_log": in_log,
            "refused_by_writers": refused,
            "by_origin_and_field": dg.MetadataValue.md(table),
            "sample": dg.MetadataValue.md(sample.to_markdown(index=False) if len(sample) else "-"),
        }
    )
