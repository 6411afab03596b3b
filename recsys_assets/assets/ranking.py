"""Retrieval and the ranker, each with its own page in the UI: what the first stage can reach,
what the second stage learned, and whether it earned its place (the champion rule decides in
`model_selection`; these assets report it, on the same test split)."""

import dagster as dg

from recsys.evaluation import bootstrap
from recsys.evaluation.publication import OBJECTIVE
from recsys.ranking.candidates import RECENT
from recsys_assets.assets.models import GROUP, ModelChoice

RANKER = "ranker"


@dg.asset(group_name=GROUP, kinds={"python"})
def retrieval(context: dg.AssetExecutionContext, model_selection: ModelChoice) -> dict:
    """Candidate recall of each retriever's top N and of their union on the test split: the
    ceiling a ranker over these candidates can reach."""
    selection = model_selection.selection
    recall = dict(selection.retrieval_recall)
    n = model_selection.config.retrieval_n
    if not recall:
        context.log.info("no candidate recall: retrieval_n is 0 in this run's config")
        return {}
    rows = [f"| {name} | {value:.3f} |" for name, value in recall.items() if name != "union"] + [
        f"| **union** | {recall['union']:.3f} |"
    ]
    context.add_output_metadata(
        {
            "recall_table": dg.MetadataValue.md(
                f"| retriever | recall@{n} |\n|---|---|\n" + "\n".join(rows)
            ),
            "candidates_per_retriever": n,
            "union_recall": float(recall["union"]),
            **{f"recall_{name}": float(v) for name, v in recall.items() if name != "union"},
        }
    )
    return recall


@dg.asset(group_name=GROUP, kinds={"python", "lightgbm"})
def ranker(context: dg.AssetExecutionContext, model_selection: ModelChoice) -> dict:
    """The learned ranker of this run: its scores against the best single family (paired
    bootstrap over the same test users), its retrievers and what its booster leaned on."""
    selection = model_selection.selection
    result = selection.families.get(RANKER)
    if result is None or result.best is None:
        reason = result.skipped if result else "not in this run's budget"
        context.log.info(f"no ranker in this run: {reason}")
        context.add_output_metadata({"status": reason})
        return {}
    singles = {
        f: r.test_metrics[OBJECTIVE]
        for f, r in selection.families.items()
        if f != RANKER and OBJECTIVE in r.test_metrics
    }
    best_single = max(singles, key=singles.get) if singles else None
    metadata: dict = {
        "status": "champion" if selection.champion == RANKER else "lost to " + selection.champion,
        "validation_ndcg_at_10": float(result.best.metrics[OBJECTIVE]),
        "test_ndcg_at_10": float(result.test_metrics.get(OBJECTIVE, 0.0)),
        "params": dg.MetadataValue.json(result.best.params),
    }
    if best_single and RANKER in selection.test_per_user:
        gap, low, high = bootstrap.difference(selection.test_per_user, RANKER, best_single)
        metadata |= {
            "best_single_family": best_single,
            "minus_best_single": gap,
            "minus_best_single_interval": f"{low:+.4f} to {high:+.4f} (95%, paired bootstrap)",
        }
    importances = result.details.get("importances", {})
    if importances:
        ranked = sorted(importances.items(), key=lambda kv: -kv[1])
        metadata["feature_importance"] = dg.MetadataValue.md(
            "| feature | share of gain |\n|---|---|\n"
            + "\n".join(f"| {name} | {share:.3f} |" for name, share in ranked)
        )
        metadata["recent_neighbours_retriever"] = RECENT in result.details.get("retrievers", [])
    context.add_output_metadata(metadata)
    return {"status": metadata["status"], **result.details}
