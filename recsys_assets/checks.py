"""Asset checks: Great Expectations suites over what feeds serving. Blocking ones stop the run
before anything downstream (publication included) happens, so the published version keeps
serving and the check's metadata in the UI says why."""

import dagster as dg

from recsys.quality import reads
from recsys.quality.runner import Report
from recsys.warehouse import item_reads
from recsys_assets.assets.ingest import events, items
from recsys_assets.assets.matrices import MatrixSnapshot, interaction_matrix
from recsys_assets.assets.models import TrainedModel, candidate_model
from recsys_assets.assets.publishing import user_recommendations
from recsys_assets.resources import QualityResource, WarehouseResource
from recsys_assets.retries import retry_when_unavailable

# The newest events are the ones a bad batch would have added; checking them bounds the cost.
EVENTS_CHECKED = 500_000
# Row-level rules on recommendations run over this many users' lists (a fixed hash sample);
# whole-version rules (every active user served, coverage) are aggregates over all of them.
RECOMMENDATIONS_CHECKED_USERS = 20_000


def _suites():
    # Great Expectations takes seconds to import: pay it in the check, not at code load.
    from recsys.quality import suites

    return suites


def _result(report: Report, **metadata) -> dg.AssetCheckResult:
    links = (
        {"data_docs": dg.MetadataValue.url(report.docs_index.as_uri())} if report.docs_index else {}
    )
    return dg.AssetCheckResult(
        passed=report.success,
        description=report.reason(),
        metadata={
            "expectations": dg.MetadataValue.md(report.as_markdown()),
            "rows_checked": report.rows,
            "failed_expectations": len(report.failures),
            **links,
            **metadata,
        },
    )


@dg.asset_check(asset=events, blocking=True)
@retry_when_unavailable
def events_are_valid(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, quality: QualityResource
) -> dg.AssetCheckResult:
    """Newest events meet the event rule, but for at most the tolerated share (those are
    quarantined and left out of training); more means a corrupted batch, and stops the run."""
    with warehouse.get().session() as client:
        frame = reads.newest_events(client, EVENTS_CHECKED)
    report = _suites().check_events(
        frame,
        quality.epoch_time,
        max_invalid_rate=quality.max_invalid_rate,
        docs_root=quality.docs_root,
    )
    return _result(report, max_invalid_rate=quality.max_invalid_rate)


@dg.asset_check(asset=events, blocking=True)
@retry_when_unavailable
def events_volume_is_sane(
    context: dg.AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    quality: QualityResource,
) -> dg.AssetCheckResult:
    """Deduplicated as training reads it, the log is not empty and did not collapse against
    the last load. A retried batch (same ids) is never a duplicate; events repeating another's
    content under a new id are reported (a client retrying without ids), not gated on."""
    with warehouse.get().session() as client:
        volume = reads.event_volume(client)
    previous = _previous_events_total(context)
    report = _suites().check_event_volume(
        volume.events_total, previous, docs_root=quality.docs_root
    )
    return _result(
        report,
        previous_events_total=previous if previous is not None else -1,
        events_total=volume.events_total,
        resent_rows_awaiting_merge=volume.stored_rows - volume.events_total,
        repeated_content=volume.repeated_content,
    )


def _previous_events_total(context: dg.AssetCheckExecutionContext) -> int | None:
    """events_total recorded by the materialisation before this run's, if any."""
    records = context.instance.fetch_materializations(dg.AssetKey("events"), limit=5).records
    for record in records:
        if record.run_id == context.run.run_id:
            continue
        value = record.asset_materialization.metadata.get("events_total")
        if value is not None:
            return int(value.value)
    return None


@dg.asset_check(asset=interaction_matrix, blocking=True)
@retry_when_unavailable
def matrix_is_trainable(
    context: dg.AssetCheckExecutionContext,
    interaction_matrix: MatrixSnapshot,
    warehouse: WarehouseResource,
    quality: QualityResource,
) -> dg.AssetCheckResult:
    """No negative confidences, enough users, items and density, every item in the catalogue."""
    matrix = interaction_matrix.matrix
    with warehouse.get().session() as client:
        catalogue = item_reads.item_ids(client)
    unknown = [item for item in matrix.item_ids if item not in catalogue]
    users, n_items = matrix.shape
    report = _suites().check_matrix(
        matrix.confidence.data,
        users,
        n_items,
        int(matrix.seen.nnz),
        unknown,
        docs_root=quality.docs_root,
    )
    return _result(report)


@dg.asset_check(asset=items, blocking=True)
@retry_when_unavailable
def items_are_valid(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, quality: QualityResource
) -> dg.AssetCheckResult:
    """Catalogue structure in any taxonomy: unique well-formed ids, titles present, genres
    well-formed (the catalogue defines its own genre vocabulary)."""
    with warehouse.get().session() as client:
        frame = reads.catalogue_for_checks(client)
    from recsys.quality.item_suite import check_items  # GX: paid in the check, as above

    report = check_items(
        frame, max_invalid_rate=quality.max_invalid_rate, docs_root=quality.docs_root
    )
    return _result(report)


@dg.asset_check(
    asset=user_recommendations,
    blocking=True,
    additional_ins={"candidate_model": dg.AssetIn("candidate_model")},
)
@retry_when_unavailable
def recommendations_are_publishable(
    context: dg.AssetCheckExecutionContext,
    candidate_model: TrainedModel,
    warehouse: WarehouseResource,
    quality: QualityResource,
) -> dg.AssetCheckResult:
    """At most K per user, every active user served, nothing seen or disliked, scores falling
    with rank, items in the catalogue, one model version, enough catalogue coverage."""
    version = candidate_model.version.model_version
    k = _run_top_k(context)
    with warehouse.get().session() as client:
        totals = reads.recommendation_totals(client, version, k)
        sample = reads.recommendation_sample(client, version, RECOMMENDATIONS_CHECKED_USERS)
    report = _suites().check_recommendations(
        sample,
        totals,
        k=k,
        model_version=version,
        min_coverage=quality.min_coverage,
        docs_root=quality.docs_root,
    )
    return _result(
        report,
        model_version=version,
        users_served=totals.users_served,
        users_checked_row_by_row=int(sample["user_id"].nunique()),
        catalogue_coverage=totals.coverage,
    )


def _run_top_k(context: dg.AssetCheckExecutionContext) -> int:
    """The top_k this run's user_recommendations used (its run config or the setting)."""
    for record in context.instance.fetch_materializations(
        dg.AssetKey("user_recommendations"), limit=5
    ).records:
        if record.run_id == context.run.run_id:
            return int(record.asset_materialization.metadata["top_k"].value)
    raise dg.Failure("user_recommendations of this run recorded no top_k")


@dg.asset_check(asset=candidate_model, blocking=True)
def model_beats_popularity(
    candidate_model: TrainedModel, quality: QualityResource
) -> dg.AssetCheckResult:
    """The candidate's offline metrics are finite and its NDCG@10 beats popularity's."""
    version = candidate_model.version
    report = _suites().check_model(
        version.metrics, version.baseline_metrics, docs_root=quality.docs_root
    )
    return _result(report, model_version=version.model_version)


all_checks = [
    events_are_valid,
    events_volume_is_sane,
    matrix_is_trainable,
    items_are_valid,
    recommendations_are_publishable,
    model_beats_popularity,
]
