"""Experiments, their computed results and decisions, in the warehouse."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from clickhouse_connect.driver.client import Client

from recsys.experiments.analysis import Results, VariantResult
from recsys.experiments.decision import Decision
from recsys.experiments.design import Experiment

log = logging.getLogger(__name__)

RESULT_COLUMNS = (
    "experiment", "computed_at", "variant", "model_version", "users", "impressions", "clicks",
    "conversions", "engaged_users", "ctr", "ctr_low", "ctr_high", "conversion",
    "conversion_low", "conversion_high", "lift", "lift_low", "lift_high", "p_value",
    "srm_p_value",
)  # fmt: skip


def defined(client: Client) -> list[Experiment]:
    """The experiments defined through the API (the newest definition of each name)."""
    rows = client.query(
        "SELECT name, definition FROM experiments FINAL WHERE deleted = 0 ORDER BY name"
    ).result_rows
    experiments = []
    for name, definition in rows:
        try:
            experiments.append(Experiment.model_validate_json(definition))
        except ValueError as error:  # stored by an older version: skip it, say why
            log.warning("experiment %s ignored: its stored definition is invalid: %s", name, error)
    return experiments


def save(client: Client, experiment: Experiment) -> None:
    client.insert(
        "experiments",
        [[experiment.name, experiment.model_dump_json(), 0]],
        column_names=["name", "definition", "deleted"],
    )


def remove(client: Client, name: str) -> None:
    client.insert("experiments", [[name, "", 1]], column_names=["name", "definition", "deleted"])


def write_results(client: Client, results: Results, computed_at: datetime | None = None) -> int:
    at = computed_at or datetime.now(UTC)
    rows = [_result_row(results, at, r) for r in (*results.variants, *results.by_version)]
    client.insert("experiment_results", rows, column_names=list(RESULT_COLUMNS))
    return len(rows)


def _result_row(results: Results, at: datetime, r: VariantResult) -> list:
    lift = r.lift
    return [
        results.experiment, at, r.variant, r.model_version, r.users, r.impressions, r.clicks,
        r.conversions, r.engaged_users, r.ctr.value, r.ctr.low, r.ctr.high, r.conversion.value,
        r.conversion.low, r.conversion.high, lift.value if lift else None,
        lift.low if lift else None, lift.high if lift else None, r.p_value, results.srm_p_value,
    ]  # fmt: skip


def latest_results(client: Client, name: str) -> list[dict]:
    """The rows of the experiment's newest computation, variants first, then by version."""
    result = client.query(
        f"""
        SELECT {", ".join(RESULT_COLUMNS)} FROM experiment_results
        WHERE experiment = {{name:String}} AND computed_at = (
            SELECT max(computed_at) FROM experiment_results WHERE experiment = {{name:String}}
        )
        ORDER BY model_version != '', variant, model_version
        """,
        parameters={"name": name},
    )
    return [dict(zip(RESULT_COLUMNS, row, strict=True)) for row in result.result_rows]


def record_decision(
    client: Client, name: str, decision: Decision, model_version: str, results: Results
) -> None:
    evidence = json.dumps(
        {
            "srm_p_value": results.srm_p_value,
            "variants": [v.as_dict() for v in results.variants],
        },
        default=str,
    )
    client.insert(
        "experiment_decisions",
        [[name, decision.action, model_version, decision.reason, evidence]],
        column_names=["experiment", "action", "model_version", "reason", "evidence"],
    )


def decisions(client: Client, name: str) -> list[dict]:
    result = client.query(
        "SELECT action, model_version, reason, decided_at FROM experiment_decisions "
        "WHERE experiment = {name:String} ORDER BY decided_at",
        parameters={"name": name},
    )
    return [
        {"action": a, "model_version": v, "reason": r, "decided_at": at}
        for a, v, r, at in result.result_rows
    ]
