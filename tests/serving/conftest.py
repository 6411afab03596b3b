"""Fixtures of the API tests: facts of the published version, the catalogue as the API shows it."""

import pytest

from recsys.settings import Settings
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse


@pytest.fixture(scope="module")
def facts(api_settings: Settings) -> dict:
    with Warehouse.from_url(api_settings.warehouse_url).session() as client:
        current = versions.published(client)
        version = current.model_version
        user, other_user = client.query(
            """
            SELECT user_id FROM user_recommendations
            WHERE model_version = {v:String} GROUP BY user_id
            ORDER BY count() DESC, user_id LIMIT 2
            """,
            parameters={"v": version},
        ).result_columns[0]
        top = client.query(
            """
            SELECT item_id FROM user_recommendations
            WHERE model_version = {v:String} AND user_id = {u:String} ORDER BY rank LIMIT 5
            """,
            parameters={"v": version, "u": user},
        ).result_columns[0]
        item = client.query(
            "SELECT item_id FROM similar_items WHERE model_version = {v:String} LIMIT 1",
            parameters={"v": version},
        ).result_rows[0][0]
    return {
        "version": version,
        "user": user,
        "other_user": other_user,
        "top": top,
        "item": item,
        "algorithm": current.algorithm,
    }


@pytest.fixture(scope="module")
def catalogue(api) -> dict[str, dict]:
    items, offset = {}, 0
    while True:
        page = api.get("/catalog", params={"offset": offset, "limit": 100}).json()
        items.update({item["item_id"]: item for item in page["items"]})
        offset += 100
        if offset >= page["total"]:
            return items
