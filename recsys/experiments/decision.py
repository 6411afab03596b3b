"""What the evidence supports: promote the challenger, retire it, or keep measuring.

Said once, used by `POST /experiments/{name}/promote` and by `experiment_results`'
opt-in automatic promotion.
"""

from __future__ import annotations

from dataclasses import dataclass

from recsys.experiments.analysis import Results
from recsys.experiments.design import Experiment
from recsys.warehouse.roles import CHALLENGER, CHAMPION


@dataclass(frozen=True)
class Decision:
    action: str  # "promote" | "retire" | "continue"
    reason: str
    variant: str = ""  # the challenger's variant


def challenger_variant(experiment: Experiment) -> str | None:
    """The variant that serves the challenger with the control's policy, against a control
    serving the champion: the only comparison that says which model is better."""
    control = experiment.control_variant
    if control.role != CHAMPION:
        return None
    for variant in experiment.variants:
        if variant.role == CHALLENGER and variant.policy() == control.policy():
            return variant.name
    return None


def decide(experiment: Experiment, results: Results) -> Decision:
    name = challenger_variant(experiment)
    if name is None:
        return Decision(
            "continue",
            "nothing to promote: no variant serves the challenger with the control's policy "
            "against the champion",
        )
    control, challenger = results.variant(experiment.control), results.variant(name)
    if results.sample_ratio_mismatch:
        return Decision(
            "continue",
            f"sample ratio mismatch (p = {results.srm_p_value:.2g}): users are not split as "
            "the weights say, so the comparison cannot be trusted; find the cause first",
            name,
        )
    few = [r.variant for r in (control, challenger) if r is None or r.users < experiment.min_users]
    if few:
        return Decision(
            "continue",
            f"not enough users yet in {', '.join(few)} (each needs {experiment.min_users})",
            name,
        )
    if challenger.lift is None or challenger.p_value is None:
        return Decision("continue", "no clicks in the control yet: no lift to measure", name)
    lift, p = challenger.lift, challenger.p_value
    evidence = (
        f"CTR {challenger.ctr.value:.4f} vs {control.ctr.value:.4f}, lift {lift.value:+.1%} "
        f"(95% CI {lift.low:+.1%} to {lift.high:+.1%}), p = {p:.3g}, "
        f"{challenger.users} vs {control.users} users"
    )
    if p < experiment.alpha and lift.value > 0:
        return Decision("promote", f"challenger wins: {evidence}", name)
    if p < experiment.alpha and lift.value < 0:
        return Decision("retire", f"challenger loses: {evidence}", name)
    return Decision("continue", f"no significant difference yet: {evidence}", name)
