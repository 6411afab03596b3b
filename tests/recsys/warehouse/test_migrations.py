"""The schema: migrations recorded, idempotent, with the engines each table needs."""

from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations, schema_version
from recsys.warehouse.schema_history import MIGRATIONS


def test_migrations_are_recorded_and_idempotent(warehouse: Warehouse):
    with warehouse.session() as client:
        assert apply_migrations(client) == []
        assert schema_version(client) == MIGRATIONS[-1].version
        engines = dict(
            client.query(
                "SELECT name, engine FROM system.tables WHERE database = currentDatabase()"
            ).result_rows
        )
    assert engines["events"] == "ReplacingMergeTree"
    assert engines["items"] == "ReplacingMergeTree"
    for table in ("user_recommendations", "similar_items", "trending_items", "interactions"):
        assert engines[table] == "MergeTree"
    assert engines["model_versions"] == "ReplacingMergeTree"
