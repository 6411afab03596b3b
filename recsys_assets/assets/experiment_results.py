"""Online experiments' results: per variant and model version, from impressions and the
engagements attributed to them; acting on the evidence where an experiment opts in."""

import dagster as dg

from recsys.experiments import store
from recsys.experiments.analysis import Results
from recsys.experiments.conclusion import act, all_defined, current_results
from recsys.experiments.decision import decide
from recsys.warehouse import versions
from recsys_assets.registry import sync_aliases
from recsys_assets.resources import ExperimentsResource, WarehouseResource
from recsys_assets.retries import retry_when_unavailable

GROUP = "experiments"


@dg.asset(group_name=GROUP, kinds={"clickhouse"})
@retry_when_unavailable
def experiment_results(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    experiments: ExperimentsResource,
) -> dg.MaterializeResult:
    """Users, impressions, CTR and conversion with 95% intervals (user level), lift against
    the control with its p-value, and a sample-ratio test, for every running experiment; kept
    in `experiment_results` (one computation per run) so CTR plots over time."""
    store_ = warehouse.get()
    with store_.session() as client:
        defined = [e for e in all_defined(client, experiments.file_path()) if e.status == "running"]
    metadata: dict[str, object] = {"experiments": len(defined)}
    tables = []
    acted = []
    for experiment in defined:
        with store_.session() as client:
            results = current_results(client, experiment, experiments.attribution_hours)
            store.write_results(client, results)
        decision = decide(experiment, results)
        context.log.info(f"{experiment.name}: {decision.action}: {decision.reason}")
        tables.append(_table(results, decision.reason))
        metadata.update(_numbers(results))
        if experiment.auto_promote and decision.action in ("promote", "retire"):
            moved = act(store_, experiment, decision, results)
            acted.append(f"{experiment.name}: {decision.action} {moved}")
    if acted:
        with store_.session() as client:
            served = versions.served(client)
        sync_aliases(experiments.registry(), served)
        metadata["acted"] = dg.MetadataValue.json(acted)
    metadata["results"] = dg.MetadataValue.md("\n\n".join(tables) or "no running experiments")
    return dg.MaterializeResult(metadata=metadata)


def _numbers(results: Results) -> dict[str, float]:
    """Per variant: CTR and its interval, users and impressions (Dagster plots them)."""
    numbers: dict[str, float] = {f"{results.experiment}/srm_p_value": results.srm_p_value}
    for v in results.variants:
        key = f"{results.experiment}/{v.variant}"
        numbers[f"{key}/ctr"] = v.ctr.value
        numbers[f"{key}/users"] = v.users
        numbers[f"{key}/impressions"] = v.impressions
        if v.p_value is not None:
            numbers[f"{key}/p_value"] = v.p_value
    return numbers


def _table(results: Results, decision: str) -> str:
    lines = [
        f"### {results.experiment} (control: {results.control})",
        "",
        "| variant | version | users | impressions | CTR (95% CI) | conversion | lift (95% CI) "
        "| p |",
        "|---|---|---:|---:|---|---|---|---:|",
    ]
    for v in (*results.variants, *results.by_version):
        lift = f"{v.lift.value:+.1%} ({v.lift.low:+.1%}, {v.lift.high:+.1%})" if v.lift else ""
        lines.append(
            f"| {v.variant} | {v.model_version or 'all'} | {v.users} | {v.impressions} | "
            f"{v.ctr.value:.4f} ({v.ctr.low:.4f}, {v.ctr.high:.4f}) | {v.conversion.value:.4f} "
            f"| {lift} | {'' if v.p_value is None else f'{v.p_value:.3g}'} |"
        )
    lines += ["", f"Sample ratio p = {results.srm_p_value:.3g}. Decision: {decision}"]
    return "\n".join(lines)
