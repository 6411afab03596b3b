"""What the experiments endpoints answer: an experiment's state, its live results, and acting
on the evidence (promotion)."""

from __future__ import annotations

from recsys.experiments import store
from recsys.experiments.analysis import Results, users_needed
from recsys.experiments.conclusion import act, current_results
from recsys.experiments.decision import Decision, decide
from recsys.experiments.design import Experiment
from serving.state import ServingState


class NotPromoted(Exception):
    """The evidence does not support promotion; the reason says why."""


def status(state: ServingState, experiment: Experiment) -> str:
    """running, stopped, waiting (a role it compares is not served) or ignored (another
    experiment holds its surface)."""
    if experiment.status != "running":
        return "stopped"
    running = state.online.experiments.running(experiment.surface)
    if running is None or running.name != experiment.name:
        return "ignored"
    if not experiment.roles <= state.served.keys():
        return "waiting"
    return "running"


def live_results(state: ServingState, experiment: Experiment) -> Results:
    """Computed on each call: an operator's read, sized by the experiment's impressions."""
    with state.warehouse.session() as client:
        return current_results(client, experiment, state.settings.attribution_hours)


def report(state: ServingState, experiment: Experiment) -> dict:
    with state.warehouse.session() as client:  # one session: embedded, the engine is shared
        results = current_results(client, experiment, state.settings.attribution_hours)
        decisions = store.decisions(client, experiment.name)
    decision = decide(experiment, results)
    served = {role: snapshot.model_version for role, snapshot in state.served.items()}
    return {
        "definition": experiment.model_dump(),
        "status": status(state, experiment),
        "served_roles": {role: served.get(role) for role in sorted(experiment.roles)},
        "results": {
            "variants": [v.as_dict() for v in results.variants],
            "by_model_version": [v.as_dict() for v in results.by_version],
            "sample_ratio_p_value": results.srm_p_value,
            "sample_ratio_mismatch": results.sample_ratio_mismatch,
            "expected_shares": results.expected_shares,
            "users_needed_per_variant": {
                v.variant: users_needed(results, v.variant, experiment.alpha)
                for v in results.variants
                if v.variant != results.control
            },
        },
        "decision": {"action": decision.action, "reason": decision.reason},
        "decisions": decisions,
    }


def promote(state: ServingState, experiment: Experiment) -> tuple[Decision, str]:
    """Promote the challenger if the evidence says it wins; NotPromoted otherwise. The API
    picks the new champion up at its next poll (every process does)."""
    results = live_results(state, experiment)
    decision = decide(experiment, results)
    if decision.action != "promote":
        raise NotPromoted(decision.reason)
    try:
        moved = act(state.warehouse, experiment, decision, results)
    except LookupError as error:  # the challenger was promoted or retired meanwhile
        raise NotPromoted(str(error)) from error
    state.refresh()  # this process serves the new champion at once
    return decision, moved
