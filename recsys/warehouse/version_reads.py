"""Reads of one model version's exported lists: the tables `exports.py` writes.

Whole lists (loaded once when a version is served from memory) or one user's / one item's
list (primary-key reads: the tables are ordered by model_version, then user or item).
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

ScoredItem = tuple[str, float]


def user_lists(client: Client, model_version: str) -> dict[str, list[ScoredItem]]:
    return _grouped(
        client,
        """
        SELECT user_id, groupArray((item_id, score)) FROM (
            SELECT user_id, item_id, score FROM user_recommendations
            WHERE model_version = {v:String} ORDER BY user_id, rank
        ) GROUP BY user_id
        """,
        model_version,
    )


def similar_lists(client: Client, model_version: str) -> dict[str, tuple[str, list[ScoredItem]]]:
    """Per item: (the source that found its neighbours, the neighbours)."""
    rows = client.query(
        """
        SELECT item_id, any(source), groupArray((similar_item_id, score)) FROM (
            SELECT item_id, source, similar_item_id, score FROM similar_items
            WHERE model_version = {v:String} ORDER BY item_id, rank
        ) GROUP BY item_id
        """,
        parameters={"v": model_version},
    ).result_rows
    return {item: (source, _scored(pairs)) for item, source, pairs in rows}


def trending_lists(client: Client, model_version: str) -> dict[str, list[ScoredItem]]:
    """Per window (`decayed`, `1d`, `7d`, `30d`): the trending items, best first."""
    return _grouped(
        client,
        """
        SELECT window, groupArray((item_id, score)) FROM (
            SELECT toString(window) AS window, item_id, score FROM trending_items
            WHERE model_version = {v:String} ORDER BY window, rank
        ) GROUP BY window
        """,
        model_version,
    )


def user_list(
    client: Client, model_version: str, user_id: str, settings: dict | None = None
) -> list[ScoredItem] | None:
    rows = _point_read(
        client,
        "SELECT item_id, score FROM user_recommendations "
        "WHERE model_version = {v:String} AND user_id = {key:String} ORDER BY rank",
        model_version,
        user_id,
        settings,
    )
    return _scored(rows) or None


def user_lifts(
    client: Client, model_version: str, user_id: str, settings: dict | None = None
) -> dict[str, list[tuple[str, float]]]:
    """Per item of the user's published list: the features that lifted it most (a learned
    ranker's lists; empty for other models)."""
    rows = _point_read(
        client,
        "SELECT item_id, lifted_by, lifts FROM user_recommendations "
        "WHERE model_version = {v:String} AND user_id = {key:String} AND notEmpty(lifted_by)",
        model_version,
        user_id,
        settings,
    )
    return {str(item): list(zip(names, lifts, strict=True)) for item, names, lifts in rows}


def similar_list(
    client: Client, model_version: str, item_id: str, settings: dict | None = None
) -> tuple[str, list[ScoredItem]] | None:
    rows = _point_read(
        client,
        "SELECT toString(source), similar_item_id, score FROM similar_items "
        "WHERE model_version = {v:String} AND item_id = {key:String} ORDER BY rank",
        model_version,
        item_id,
        settings,
    )
    if not rows:
        return None
    return rows[0][0], [(other, float(score)) for _, other, score in rows]


def _point_read(client: Client, sql: str, model_version: str, key: str, settings) -> list:
    """One user's or item's rows of a version: a primary-key read."""
    parameters = {"v": model_version, "key": key}
    return client.query(sql, parameters=parameters, settings=settings).result_rows


def _grouped(client: Client, sql: str, model_version: str) -> dict[str, list[ScoredItem]]:
    rows = client.query(sql, parameters={"v": model_version}).result_rows
    return {key: _scored(pairs) for key, pairs in rows}


def _scored(pairs) -> list[ScoredItem]:
    return [(item_id, float(score)) for item_id, score in pairs]
