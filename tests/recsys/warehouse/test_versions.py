"""Publication by role: each role serves its newest published version; pruning keeps every
served version and the newest few of each role; readers' marker files name each role's version."""

from datetime import UTC, datetime, timedelta

from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.roles import CHAMPION

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _version(name: str, day: int) -> versions.ModelVersion:
    moment = T0 + timedelta(days=day)
    return versions.ModelVersion(name, "als", trained_at=moment, events_ingested_until=moment)


def _with_rows(client, model_version: str) -> None:
    client.insert(
        "user_recommendations",
        [[model_version, "u1", 1, "i1", 1.0, "als"]],
        column_names=["model_version", "user_id", "rank", "item_id", "score", "source"],
    )


def test_each_role_serves_its_newest_publication(warehouse: Warehouse):
    with warehouse.session() as client:
        assert versions.served(client) == {} and versions.published(client) is None
        versions.publish(client, _version("als-1", 1))
        versions.publish(client, _version("als-2", 2), role="challenger")
        versions.publish(client, _version("als-3", 3))  # retraining replaces the champion
        served = versions.served(client)
    assert {role: v.model_version for role, v in served.items()} == {
        CHAMPION: "als-3",
        "challenger": "als-2",
    }
    assert served["challenger"].role == "challenger" and served[CHAMPION].status == "published"


def test_pruning_keeps_every_served_version_and_the_newest_of_each_role(warehouse: Warehouse):
    with warehouse.session() as client:
        for day, (name, role) in enumerate(
            [
                ("c1", CHAMPION),
                ("x1", "challenger"),
                ("c2", CHAMPION),
                ("c3", CHAMPION),
                ("c4", CHAMPION),
                ("c5", CHAMPION),
            ]  # fmt: skip
        ):
            _with_rows(client, name)
            versions.publish(client, _version(name, day), role=role)
        dropped = versions.prune(client, keep=2)
        left = client.query(
            "SELECT DISTINCT model_version FROM user_recommendations ORDER BY model_version"
        ).result_columns[0]
    # The challenger is older than every champion but serves: it stays.
    assert sorted(dropped) == ["c1", "c2", "c3"]
    assert left == ["c4", "c5", "x1"]


def test_rows_published_before_roles_are_the_champion(warehouse: Warehouse):
    with warehouse.session() as client:
        client.command(
            "INSERT INTO model_versions (model_version, status, algorithm, trained_at, "
            "published_at, events_ingested_until) VALUES "
            "('old-1', 'published', 'als', now(), now(), now())"
        )
        assert versions.published(client).model_version == "old-1"


def test_the_marker_names_each_roles_version(warehouse: Warehouse):
    warehouse.notify_published("als-1")
    warehouse.notify_published("als-2", role="challenger")
    warehouse.notify_published("als-3")
    assert warehouse.published_markers() == {CHAMPION: "als-3", "challenger": "als-2"}
    assert warehouse.published_marker() == "als-3"
    # A marker written before roles held the champion's version alone.
    warehouse.published_marker_path.write_text("als-0")
    assert warehouse.published_markers() == {CHAMPION: "als-0"}


def test_promotion_moves_the_challenger_and_empties_its_role_at_once(warehouse: Warehouse):
    with warehouse.session() as client:
        versions.publish(client, _version("x0", 0), role="challenger")  # an older challenger
        versions.publish(client, _version("c1", 1))
        versions.publish(client, _version("x1", 2), role="challenger")
        promoted = versions.promote(client, "challenger")
        served = {role: v.model_version for role, v in versions.served(client).items()}
        assert promoted.model_version == "x1"
        # The older challenger must not come back into the emptied role.
        assert served == {CHAMPION: "x1"}
        try:
            versions.promote(client, "challenger")
        except LookupError as error:
            assert "no version serves as challenger" in str(error)
        else:
            raise AssertionError("promoting an empty role must fail")


def test_a_retired_challenger_stops_serving_and_the_champion_cannot_be_retired(
    warehouse: Warehouse,
):
    with warehouse.session() as client:
        versions.publish(client, _version("c1", 1))
        versions.publish(client, _version("x1", 2), role="challenger")
        assert versions.retire(client, "challenger") == ["x1"]
        assert set(versions.served(client)) == {CHAMPION}
        try:
            versions.retire(client, CHAMPION)
        except ValueError:
            pass
        else:
            raise AssertionError("the champion is only ever replaced")
