"""The `model_versions` table: candidates, the published pointer, and pruning of old versions."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from recsys.warehouse.exports import EXPORT_TABLES, clear_version

KEEP_PUBLISHED_VERSIONS = 3
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


def new_version_id(algorithm: str, now: datetime | None = None) -> str:
    """Sortable and readable: `als-20261123T171500Z-3fa2`."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{algorithm}-{stamp}-{secrets.token_hex(2)}"


def record(client: Client, version: ModelVersion) -> None:
    """Insert or replace the row for this version (ReplacingMergeTree keeps the newest)."""
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
            ]
        ],
        column_names=list(_COLUMNS),
    )


def publish(client: Client, version: ModelVersion) -> ModelVersion:
    """Make `version` the one readers see: a single row insert, atomic for every reader."""
    version.status = "published"
    version.published_at = datetime.now(UTC)
    record(client, version)
    return version


def published(client: Client) -> ModelVersion | None:
    """The currently published version, or None before the first publication."""
    rows = client.query(
        f"""
        SELECT {", ".join(_COLUMNS)} FROM model_versions FINAL
        WHERE status = 'published'
        ORDER BY published_at DESC, model_version DESC
        LIMIT 1
        """
    ).result_rows
    return _from_row(rows[0]) if rows else None


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
    """Drop export partitions of all but the newest `keep` published versions.

    Candidates newer than the current publication are kept: they may be a run in progress.
    """
    rows = client.query(
        """
        SELECT model_version, status, trained_at FROM model_versions FINAL
        ORDER BY trained_at DESC, model_version DESC
        """
    ).result_rows
    current = published(client)
    kept_published = 0
    dropped = []
    if current is None:
        return []
    for model_version, status, trained_at in rows:
        if status == "published" and kept_published < keep:
            kept_published += 1
            continue
        if status == "candidate" and _utc(trained_at) > current.trained_at:
            continue
        for table in EXPORT_TABLES:
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
    )


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
