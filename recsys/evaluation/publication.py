"""Whether a retrained model is published, and in which role: offline evidence against the
published champion on the same test split (online experiments decide between served versions,
`recsys.experiments`)."""

from __future__ import annotations

from recsys.warehouse.roles import CHALLENGER, CHAMPION

OBJECTIVE = "ndcg_at_10"


def offline_replacement_decision(
    retrained: dict[str, float],
    published: dict[str, float] | None,
    min_improve: float,
    metric: str = OBJECTIVE,
) -> tuple[bool, str]:
    """Should the retrained model replace the published one? Only if, on the same offline test
    split, it beats it by `min_improve` (or nothing is published). Offline evidence only: online
    experiments between served versions are a different decision."""
    if published is None:
        return True, "published as the first model (there was no earlier model to compare with)"
    new, old = retrained[metric], published[metric]
    if new >= old + min_improve:
        return True, (
            f"published: {metric} {new:.4f} beats the previous model's {old:.4f} "
            f"(min_improve {min_improve})"
        )
    return False, (
        f"kept the published model: {metric} {new:.4f} does not beat its {old:.4f} "
        f"by min_improve {min_improve} on the same evaluation"
    )


def publication_role(
    retrained: dict[str, float],
    published: dict[str, float] | None,
    min_improve: float,
    requested: str = "auto",
    challenger_margin: float = 0.0,
    metric: str = OBJECTIVE,
) -> tuple[str | None, str]:
    """The role a retrained model is published in (None: not published), and why.

    - `champion`: only if it beats the champion offline (`offline_replacement_decision`).
    - `challenger`: beside the champion whatever the offline comparison says, for an online
      experiment to decide (the quality checks still apply). With no champion yet, any
      request publishes the first champion.
    - `auto`: champion if it beats it; else challenger if it lost by less than
      `challenger_margin` (0: never), since offline NDCG and online clicks can disagree.
    """
    wins, reason = offline_replacement_decision(retrained, published, min_improve, metric)
    if published is None:
        return CHAMPION, reason
    if requested == "challenger":
        return CHALLENGER, f"published as challenger (run config); offline: {reason}"
    if wins:
        return CHAMPION, reason
    gap = published[metric] - retrained[metric]
    if requested == "auto" and gap < challenger_margin:
        return CHALLENGER, (
            f"published as challenger: {metric} {retrained[metric]:.4f} is within "
            f"challenger_margin {challenger_margin} of the champion's {published[metric]:.4f}"
        )
    return None, reason
