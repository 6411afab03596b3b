"""The API holds the version serving in every role; requests are served by the champion."""

from dataclasses import replace

from fastapi.testclient import TestClient

from recsys.settings import Settings
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.exports import EXPORT_TABLES
from serving.app import create_app


def _publish_copy_as(settings: Settings, role: str) -> str:
    """Publish a copy of the champion (same tables, a new version id) in `role`."""
    warehouse = Warehouse.from_url(settings.warehouse_url)
    with warehouse.session() as client:
        champion = versions.published(client)
        copy = replace(champion, model_version=f"{champion.model_version}-{role}")
        for table in EXPORT_TABLES:
            columns = client.query(
                "SELECT name FROM system.columns "
                "WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
                parameters={"t": table},
            ).result_columns[0]
            listed = ", ".join(columns)
            chosen = ", ".join("{copy:String}" if c == "model_version" else c for c in columns)
            client.command(
                f"INSERT INTO {table} ({listed}) SELECT {chosen} FROM {table} "
                "WHERE model_version = {v:String}",
                parameters={"copy": copy.model_version, "v": champion.model_version},
            )
        versions.publish(client, copy, role=role)
    warehouse.notify_published(copy.model_version, role=role)
    return copy.model_version


def test_every_served_role_is_loaded_and_the_champion_answers(writable_home: Settings):
    with TestClient(create_app(writable_home)) as api:
        state = api.app.state.serving
        champion = state.snapshot.model_version
        challenger = _publish_copy_as(writable_home, "challenger")
        state.refresh()  # what the poll loop does when the marker changes (if first)
        assert {role: s.model_version for role, s in state.served.items()} == {
            "champion": champion,
            "challenger": challenger,
        }
        assert state.served["challenger"].fold_in is not None
        assert api.get("/model").json()["model_version"] == champion
        user = state.served["challenger"].reads.example_users(1)[0]
        body = api.get(f"/recommendations/{user}").json()
        assert (body["model_version"], body["source"]) == (champion, "precomputed")
