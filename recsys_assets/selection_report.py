"""How a model selection is reported: the metrics recorded per family, and the markdown table
the `model_selection` asset shows (and `benchmarks.offline_quality` prints)."""

from __future__ import annotations

from recsys.evaluation import bootstrap
from recsys.evaluation.publication import OBJECTIVE
from recsys.evaluation.selection_results import Selection

REPORTED = (
    "ndcg_at_10",
    "precision_at_10",
    "recall_at_10",
    "map_at_10",
    "hit_rate_at_10",
    "coverage_at_10",
    "novelty_at_10",
    "diversity_at_10",
    "ndcg_at_20",
    "recall_at_20",
    "ndcg_at_50",
    "recall_at_50",
    "cold_ndcg_at_10",
    "warm_ndcg_at_10",
)


def metrics_table(selection: Selection, retrieval_n: int = 0) -> str:
    """Markdown: each family's best validation NDCG and its test metrics, popularity last;
    then the candidate recall of each family's top `retrieval_n` and of their union."""
    lines = [
        "| model | val ndcg_at_10 | ndcg_at_10 95% CI | " + " | ".join(REPORTED) + " | note |",
        "|" + "---|" * (len(REPORTED) + 4),
    ]
    rows = [
        (f, r.best.metrics[OBJECTIVE] if r.best else None, r.test_metrics, r.skipped)
        for f, r in selection.families.items()
    ]
    rows.append(
        (
            "popularity",
            selection.baseline_validation[OBJECTIVE],
            selection.baseline_test,
            "baseline",
        )
    )
    if selection.incumbent_test:
        rows.append(("published (refit)", None, selection.incumbent_test, "incumbent"))
    intervals = bootstrap.intervals(selection.test_per_user)
    for name, validation, test, note in rows:
        cells = [f"{test[k]:.4f}" if k in test else "" for k in REPORTED]
        val = f"{validation:.4f}" if validation is not None else ""
        low, high = intervals.get(name, (None, None))
        spread = f"{low:.4f}-{high:.4f}" if low is not None else ""
        mark = " **champion**" if name == selection.champion else ""
        lines.append(f"| {name}{mark} | {val} | {spread} | " + " | ".join(cells) + f" | {note} |")
    users = selection.baseline_test.get("users", 0)
    cold = selection.baseline_test.get("cold_users", 0)
    lines.append(f"\nTest users: {users:.0f} ({cold:.0f} cold, fewer than 5 training items).")
    gap = champion_gap(selection)
    if gap:
        lines.append(f"\n{gap}")
    if selection.retrieval_recall:
        each = ", ".join(f"{k} {v:.3f}" for k, v in selection.retrieval_recall.items())
        lines.append(f"\nCandidate recall of the top {retrieval_n} on the test split: {each}.")
    return "\n".join(lines)


def champion_gap(selection: Selection) -> str:
    """The champion's test NDCG@10 minus the best other family's, with a paired bootstrap
    interval over the same test users (seeded): is the win more than noise?"""
    per_user = selection.test_per_user
    others = {
        f: r.test_metrics[OBJECTIVE]
        for f, r in selection.families.items()
        if f != selection.champion and f in per_user and OBJECTIVE in r.test_metrics
    }
    if selection.champion not in per_user or not others:
        return ""
    runner_up = max(others, key=others.get)
    mean, low, high = bootstrap.difference(per_user, selection.champion, runner_up)
    return (
        f"Champion {selection.champion} minus the best other family ({runner_up}) on test "
        f"NDCG@10: {mean:+.4f} (95% bootstrap interval over test users {low:+.4f} to {high:+.4f})."
    )
