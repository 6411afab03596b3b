"""How a model selection is reported: the metrics recorded per family, and the markdown table
the `model_selection` asset shows (and `benchmarks.offline_quality` prints)."""

from __future__ import annotations

from recsys.selection import OBJECTIVE, Selection

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
        "| model | val ndcg_at_10 | " + " | ".join(REPORTED) + " | note |",
        "|" + "---|" * (len(REPORTED) + 3),
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
    for name, validation, test, note in rows:
        cells = [f"{test[k]:.4f}" if k in test else "" for k in REPORTED]
        val = f"{validation:.4f}" if validation is not None else ""
        mark = " **champion**" if name == selection.champion else ""
        lines.append(f"| {name}{mark} | {val} | " + " | ".join(cells) + f" | {note} |")
    users = selection.baseline_test.get("users", 0)
    cold = selection.baseline_test.get("cold_users", 0)
    lines.append(f"\nTest users: {users:.0f} ({cold:.0f} cold, fewer than 5 training items).")
    if selection.retrieval_recall:
        each = ", ".join(f"{k} {v:.3f}" for k, v in selection.retrieval_recall.items())
        lines.append(f"\nCandidate recall of the top {retrieval_n} on the test split: {each}.")
    return "\n".join(lines)
