"""The published model version's tables, loaded into memory for serving.

A snapshot is immutable once built; the API swaps the whole object when a new version is
published, so every request reads exactly one version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from clickhouse_connect.driver.client import Client

from recsys.foldin import FoldInModel, FoldInSpec
from recsys.warehouse import versions
from recsys.warehouse.item_model import read_item_model

ScoredItem = tuple[str, float]


@dataclass(frozen=True)
class Snapshot:
    model_version: str
    trained_at: datetime
    published_at: datetime | None
    events_ingested_until: datetime
    algorithm: str
    version: versions.ModelVersion = field(repr=False)
    recommendations: dict[str, list[ScoredItem]] = field(repr=False)
    similar: dict[str, tuple[str, list[ScoredItem]]] = field(repr=False)  # item: (source, list)
    trending: list[ScoredItem] = field(repr=False)
    item_ids: frozenset[str] = field(repr=False)
    # Request-time scoring for users with newer events; None for versions published without it.
    fold_in: FoldInModel | None = field(default=None, repr=False)


def load_snapshot(client: Client, version: versions.ModelVersion) -> Snapshot:
    """Read every derived table of `version` (and the catalogue ids) in one session."""
    params = {"v": version.model_version}
    recommendations = _grouped(
        client,
        """
        SELECT user_id, groupArray((item_id, score)) FROM (
            SELECT user_id, item_id, score FROM user_recommendations
            WHERE model_version = {v:String} ORDER BY user_id, rank
        ) GROUP BY user_id
        """,
        params,
    )
    similar = {
        item_id: (source, [(other, float(score)) for other, score in pairs])
        for item_id, source, pairs in client.query(
            """
            SELECT item_id, any(source), groupArray((similar_item_id, score)) FROM (
                SELECT item_id, source, similar_item_id, score FROM similar_items
                WHERE model_version = {v:String} ORDER BY item_id, rank
            ) GROUP BY item_id
            """,
            parameters=params,
        ).result_rows
    }
    trending = [
        (item_id, float(score))
        for item_id, score in client.query(
            "SELECT item_id, score FROM trending_items "
            "WHERE model_version = {v:String} ORDER BY rank",
            parameters=params,
        ).result_rows
    ]
    item_ids = client.query("SELECT DISTINCT item_id FROM items").result_columns
    item_side = read_item_model(client, version.model_version) if version.fold_in else None
    fold_in = FoldInModel(FoldInSpec.from_json(version.fold_in), item_side) if item_side else None
    return Snapshot(
        model_version=version.model_version,
        trained_at=version.trained_at,
        published_at=version.published_at,
        events_ingested_until=version.events_ingested_until,
        algorithm=version.algorithm,
        version=version,
        recommendations=recommendations,
        similar=similar,
        trending=trending,
        item_ids=frozenset(item_ids[0] if item_ids else ()),
        fold_in=fold_in,
    )


def _grouped(client: Client, sql: str, params: dict) -> dict[str, list[ScoredItem]]:
    return {
        key: [(item_id, float(score)) for item_id, score in pairs]
        for key, pairs in client.query(sql, parameters=params).result_rows
    }
