"""The `model_versions` table: candidates, the versions served in each role, and pruning.

A published version serves in a role (`recsys.warehouse.roles`). Publishing in a role is one
row insert, atomic for every reader; the newest version published in a role serves in it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from recsys.warehouse.exports import VERSION_TABLES, clear_version
from recsys.warehouse.roles import CHALLENGER, CHAMPION

KEEP_PUBLISHED_VERSIONS = 3  # per role
_COLUMNS = (
    "model_version",
    "status",
    "algorithm",
    "params",
    "metrics",
    "trained_at",
    "published_at",
    "events_ingested_until",
    "mlflow_run_id",
    "n_users",
    "n_items",
    "baseline_metrics",
    "decision",
    "fold_in",
    "role",
    "evaluation",
)


@dataclass
class ModelVersion:
    model_version: str
    algorithm: str
    trained_at: datetime
    events_ingested_until: datetime
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "candidate"
    published_at: datetime | None = None
    mlflow_run_id: str = ""
    n_users: int = 0
    n_items: int = 0
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    decision: str = ""  # why it was (not) published
    fold_in: dict[str, Any] = field(default_factory=dict)  # recsys.foldin.FoldInSpec as JSON
    role: str = ""  # the role it was published in (empty until published)
    evaluation: str = ""  # the protocol its metrics come from (recsys.evaluation.split)


def new_version_id(algorithm: str, now: datetime | None = None) -> str:
    """Sortable and readable: `als-20261123T171500Z-3fa2`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{algorithm}-{stamp}-{secrets.token_hex(2)}"


def record(client: Client, version: ModelVersion) -> None:
    """Insert or replace the row for this version (ReplacingMergeTree keeps the newest)."""
    _record_rows(client, [version])


def _record_rows(client: Client, rows: list[ModelVersion]) -> None:
    client.insert(
        "model_versions",
        [
            [
                version.model_version,
                version.status,
                version.algorithm,
                json.dumps(version.params, sort_keys=True),
                json.dumps(version.metrics, sort_keys=True),
                version.trained_at,
                version.published_at,
                version.events_ingested_until,
                version.mlflow_run_id,
                version.n_users,
                version.n_items,
                json.dumps(version.baseline_metrics, sort_keys=True),
                version.decision,
                json.dumps(version.fold_in, sort_keys=True),
                version.role,
                version.evaluation,
            ]
            for version in rows
        ],
        column_names=list(_COLUMNS),
    )


def publish(client: Client, version: ModelVersion, role: str = CHAMPION) -> ModelVersion:
    """Make `version` the one serving in `role`: a single row insert, atomic for every reader."""
    version.status = "published"
    version.role = role
    version.published_at = datetime.now(UTC)
    record(client, version)
    return version


def promote(client: Client, role: str = CHALLENGER) -> ModelVersion:
    """Make the version serving in `role` the champion, and empty `role`, in one insert (one
    part: every reader sees both changes or neither). Raises LookupError when nothing serves
    in `role`."""
    served_now = served(client)
    winner = served_now.get(role)
    if winner is None:
        raise LookupError(f"no version serves as {role}")
    winner.status, winner.role = "published", CHAMPION
    winner.published_at = datetime.now(UTC)
    _record_rows(client, [winner, *_retired(client, role, keep=winner.model_version)])
    return winner


def retire(client: Client, role: str = CHALLENGER) -> list[str]:
    """Stop serving anything in `role` (its versions stay, marked retired); returns them."""
    if role == CHAMPION:
        raise ValueError("the champion is replaced by promotion, never retired")
    rows = _retired(client, role)
    _record_rows(client, rows)
    return [version.model_version for version in rows]


def _retired(client: Client, role: str, keep: str = "") -> list[ModelVersion]:
    """Every version published in `role`, marked retired: with the newest gone, an older one
    would otherwise serve in the role again."""
    rows = client.query(
        f"SELECT {', '.join(_COLUMNS)} FROM model_versions FINAL "
        "WHERE status = 'published' AND role = {role:String} AND model_version != {keep:String}",
        parameters={"role": role, "keep": keep},
    ).result_rows
    retired = [_from_row(row) for row in rows]
    for version in retired:
        version.status = "retired"
    return retired


def published(client: Client, role: str = CHAMPION) -> ModelVersion | None:
    """The version serving in `role`, or None before the first publication in it."""
    return served(client).get(role)


def served(client: Client) -> dict[str, ModelVersion]:
    """The version serving in each role: the newest published in it."""
    rows = client.query(
        f"""
        SELECT {", ".join(_COLUMNS)} FROM model_versions FINAL
        WHERE status = 'published'
        ORDER BY role, published_at DESC, model_version DESC
        LIMIT 1 BY role
        """
    ).result_rows
    return {version.role: version for version in map(_from_row, rows)}


def newest_trained(client: Client) -> ModelVersion | None:
    """The version trained on the newest data, whatever became of it (published or not).

    Events after its cut-off are what no training run has seen yet: the retrain sensor counts
    from here, so a retrained model that lost does not trigger the same retrain again and again.
    """
    rows = client.query(
        f"""
        SELECT {", ".join(_COLUMNS)} FROM model_versions FINAL
        ORDER BY events_ingested_until DESC, trained_at DESC
        LIMIT 1
        """
    ).result_rows
    return _from_row(rows[0]) if rows else None


def prune(client: Client, keep: int = KEEP_PUBLISHED_VERSIONS) -> list[str]:
    """Drop export partitions of all but the newest `keep` published versions of each role.

    Every version serving in a role is kept, and candidates newer than the champion: they may
    be a run in progress.
    """
    rows = client.query(
        """
        SELECT model_version, status, role, trained_at FROM model_versions FINAL
        ORDER BY trained_at DESC, model_version DESC
        """
    ).result_rows
    serving = served(client)
    current = serving.get(CHAMPION)
    if current is None:
        return []
    serving_ids = {version.model_version for version in serving.values()}
    kept_per_role: dict[str, int] = {}
    dropped = []
    for model_version, status, role, trained_at in rows:
        if model_version in serving_ids:
            continue
        if status == "published" and kept_per_role.get(role, 0) < keep - 1:
            kept_per_role[role] = kept_per_role.get(role, 0) + 1
            continue
        if status == "candidate" and _utc(trained_at) > current.trained_at:
            continue
        for table in VERSION_TABLES:
            clear_version(client, table, model_version)
        dropped.append(model_version)
    return dropped


def _from_row(row: tuple) -> ModelVersion:
    values = dict(zip(_COLUMNS, row, strict=True))
    return ModelVersion(
        model_version=values["model_version"],
        status=values["status"],
        algorithm=values["algorithm"],
        params=json.loads(values["params"] or "{}"),
        metrics=json.loads(values["metrics"] or "{}"),
        trained_at=_utc(values["trained_at"]),
        published_at=_utc(values["published_at"]) if values["published_at"] else None,
        events_ingested_until=_utc(values["events_ingested_until"]),
        mlflow_run_id=values["mlflow_run_id"],
        n_users=int(values["n_users"]),
        n_items=int(values["n_items"]),
        baseline_metrics=json.loads(values["baseline_metrics"] or "{}"),
        decision=values["decision"],
        fold_in=json.loads(values["fold_in"] or "{}"),
        role=values["role"],
        evaluation=values["evaluation"],
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
