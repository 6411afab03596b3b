"""The schema's cluster form: every migration rewritten for a ClickHouse cluster parses with the
engine's own parser, keeps rows that replace each other on one shard, and the embedded and
single-server forms stay exactly as written."""

import re

import pytest

from recsys.settings import Settings
from recsys.warehouse import cluster
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.schema_history import MIGRATIONS


def _format(client, query: str) -> str:
    """ClickHouse's own parser (`formatQuery`): raises on a statement it cannot parse."""
    return client.query("SELECT formatQuery({q:String})", parameters={"q": query}).result_rows[0][0]


def _cluster_form() -> list[str]:
    return [
        each
        for migration in MIGRATIONS
        for statement in migration.statements
        for each in cluster.cluster_statements(statement, "recsys")
    ]


def test_every_migration_has_a_cluster_form_the_engine_parses(warehouse):
    statements = _cluster_form()
    assert len(statements) > sum(len(m.statements) for m in MIGRATIONS)
    with warehouse.session() as client:
        for statement in statements:
            assert "ON CLUSTER recsys" in _format(client, statement), statement
        with pytest.raises(Exception, match="Syntax error"):
            _format(client, "CREATE TABLE x ON CLUSTER recsys ENGINE = ")


def test_tables_are_replicated_locals_behind_distributed_tables_of_their_own_name():
    created = [s for s in _cluster_form() if s.startswith("CREATE TABLE")]
    locals_ = {re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", s)[1]: s for s in created}
    names = [n for n in locals_ if not n.endswith("_local")]
    assert {"events", "items", "user_recommendations", "model_versions"} <= set(names)
    for name in names:
        local = locals_[f"{name}_local"]
        assert re.search(
            r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{uuid\}/\{shard\}', "
            r"'\{replica\}'",
            local,
        ), local
        front = f"AS {name}_local ENGINE = Distributed(recsys, currentDatabase(), {name}_local, "
        assert front in locals_[name]
    # A replacing engine keeps its version column after the replication arguments.
    assert "ReplicatedReplacingMergeTree(" in locals_["items_local"]
    assert "'{replica}', updated_at)" in locals_["items_local"]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("events", "cityHash64(user_id)"),  # a user's events, lists and pairs on one shard
        ("user_recommendations", "cityHash64(user_id)"),
        ("interactions", "cityHash64(user_id)"),
        ("items", "cityHash64(item_id)"),  # an item's versions replace each other on one shard
        ("similar_items", "cityHash64(item_id)"),
        ("model_versions", "cityHash64(model_version)"),  # no user, no item: its sort key
    ],
)
def test_rows_that_replace_each_other_share_a_shard(table, key):
    [front] = [s for s in _cluster_form() if s.startswith(f"CREATE TABLE IF NOT EXISTS {table} ")]
    assert front.endswith(f"{table}_local, {key})"), front


def test_column_changes_reach_the_distributed_table_and_the_rest_only_the_local_ones():
    add = "ALTER TABLE items ADD COLUMN IF NOT EXISTS hidden UInt8 DEFAULT 0"
    assert cluster.cluster_statements(add, "c") == [
        "ALTER TABLE items_local ON CLUSTER c ADD COLUMN IF NOT EXISTS hidden UInt8 DEFAULT 0",
        "ALTER TABLE items ON CLUSTER c ADD COLUMN IF NOT EXISTS hidden UInt8 DEFAULT 0",
    ]
    setting = "ALTER TABLE events MODIFY SETTING old_parts_lifetime = 0"
    assert cluster.cluster_statements(setting, "c") == [
        "ALTER TABLE events_local ON CLUSTER c MODIFY SETTING old_parts_lifetime = 0"
    ]
    with pytest.raises(ValueError, match="no cluster form"):
        cluster.cluster_statements("OPTIMIZE TABLE events FINAL", "c")
    with pytest.raises(ValueError, match="cluster name"):
        cluster.cluster_statements(add, "c; DROP TABLE events")


def test_a_distributed_tables_engine_says_where_its_rows_are():
    for stored in (
        "Distributed('recsys', 'prod', 'events_local', cityHash64(user_id))",
        "Distributed(recsys, currentDatabase(), events_local, cityHash64(user_id))",
    ):
        assert cluster.distributed(stored) == cluster.Distributed(
            "recsys", "events_local", "cityHash64(user_id)"
        )
    assert cluster.distributed("ReplacingMergeTree ORDER BY (user_id, event_id)") is None


def test_on_one_node_runtime_ddl_names_the_tables_themselves(warehouse):
    """The embedded (and single-server) schema: DDL names each table, the rebuild swaps
    `interactions__next` with `interactions`, as before there was a cluster form."""
    with warehouse.session() as client:
        assert cluster.rows_table(client, "user_recommendations") == "user_recommendations"
        plan = cluster.rebuild(client, "interactions")
    assert plan.target == "interactions__next"
    assert plan.swap == ["EXCHANGE TABLES interactions__next AND interactions"]


def test_a_cluster_needs_a_server(tmp_path):
    with pytest.raises(ValueError, match="RECSYS_CLICKHOUSE_URL"):
        Settings(home=tmp_path, clickhouse_cluster="recsys")
    assert Settings(
        home=tmp_path, clickhouse_cluster="recsys", clickhouse_url="http://u:p@ch:8123/recsys"
    ).clickhouse_cluster
    with pytest.raises(ValueError, match="needs a server"):
        Warehouse.from_url(f"chdb://{tmp_path}/w", cluster="recsys")
