"""An experiment's current results, and acting on its decision: the one place that moves a
challenger into the champion's role or retires it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from clickhouse_connect.driver.client import Client

from recsys.experiments import store
from recsys.experiments.analysis import Results, analyse
from recsys.experiments.assignment import Splitter
from recsys.experiments.attribution import outcomes_by_user
from recsys.experiments.decision import Decision
from recsys.experiments.design import Experiment, load_file
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.roles import CHALLENGER

log = logging.getLogger(__name__)


def current_results(client: Client, experiment: Experiment, window_hours: float) -> Results:
    """Results over every impression the experiment has logged so far."""
    started = client.query(
        "SELECT min(shown_at), count() FROM impressions WHERE experiment = {name:String}",
        parameters={"name": experiment.name},
    ).result_rows[0]
    since = started[0] if started[1] else datetime.now(UTC)
    outcomes = outcomes_by_user(client, experiment.name, since, window_hours)
    shares = Splitter(experiment).expected_shares()
    return analyse(experiment.name, outcomes, experiment.control, shares)


def act(warehouse: Warehouse, experiment: Experiment, decision: Decision, results: Results) -> str:
    """Promote or retire the challenger as decided, record why, and announce the new roles.
    Returns the model version moved ("" when the decision was to keep measuring)."""
    if decision.action == "continue":
        return ""
    with warehouse.session() as client:
        if decision.action == "promote":
            moved = versions.promote(client, CHALLENGER).model_version
        else:
            retired = versions.retire(client, CHALLENGER)
            moved = retired[0] if retired else ""
        store.record_decision(client, experiment.name, decision, moved, results)
        served = {role: v.model_version for role, v in versions.served(client).items()}
    warehouse.notify_served(served)
    log.info("experiment %s: %s %s (%s)", experiment.name, decision.action, moved, decision.reason)
    return moved


def all_defined(client: Client, file: Path | None) -> list[Experiment]:
    """The experiments of the file and those defined through the API."""
    return [*(load_file(file) if file else []), *store.defined(client)]
