"""Erasing a user: gone from every table, file and cache; a new user afterwards; and after the
next retrain no byte under RECSYS_HOME or DAGSTER_HOME names them. The Dagster instance lives
outside RECSYS_HOME here, as docker-compose (and any deployment that sets DAGSTER_HOME) puts it."""

from __future__ import annotations

import subprocess
import time

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from recsys.settings import Settings
from serving.app import create_app
from tests.conftest import API_OVERRIDES, run_full_pipeline

ADMIN = {"Authorization": "Bearer s3cret"}


@pytest.fixture(scope="module")
def api_settings(writable_home, tmp_path_factory):
    """Lists served after the erasure would be new impressions of a (new) user by that id:
    this module checks the erasure alone, so the API logs none (test_impressions checks that
    impressions are erased). DAGSTER_HOME is a folder of its own, beside RECSYS_HOME."""
    outside = tmp_path_factory.mktemp("dagster-home-elsewhere")
    environment = Settings.model_validate({"DAGSTER_HOME": str(outside)})  # as the variable
    assert environment.dagster_home == outside.resolve()
    return writable_home.model_copy(
        update={
            **API_OVERRIDES,
            "api_log_impressions": False,
            "dagster_home_dir": environment.dagster_home_dir,
        }
    )


def roots(settings) -> list:
    return [settings.home, settings.dagster_home]


# Distinctive, and not ASCII: the byte search looks for its UTF-8 form, as every store keeps it.
USER = "forget-me-ß-7f3a9c"


def files_naming(where, needle: str) -> list[str]:
    folders = [str(root) for root in (where if isinstance(where, list) else [where])]
    found = subprocess.run(
        ["grep", "-rlaF", "--", needle, *folders], capture_output=True, check=False
    )
    return found.stdout.decode("utf-8", "replace").split()


def retrain(settings) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        result = run_full_pipeline(settings, instance)
    assert result.success
    return result


@pytest.fixture(scope="module")
def trained_with_user(api, api_settings, catalogue):
    """The user's events in the warehouse and a retrain that learnt them: lists, the model
    artefact, the pipeline's stored values all name the user."""
    items = list(catalogue)[:12]
    events = [{"user_id": USER, "item_id": i, "event_type": "view_complete"} for i in items]
    assert api.post("/events", json={"events": events}).status_code == 200
    rejected = {"user_id": USER, "item_id": items[0], "event_type": "rating", "value": 99}
    assert api.post("/events", json=rejected).status_code == 422
    retrain(api_settings)
    api.post("/admin/reload", headers=ADMIN)
    assert api.get(f"/recommendations/{USER}").json()["source"] != "trending"
    return api_settings


def test_an_erased_user_is_gone_everywhere_and_new_afterwards(api, trained_with_user):
    settings = trained_with_user
    where = files_naming(roots(settings), USER)
    assert any("/warehouse/" in f for f in where) and any("/mlartifacts/" in f for f in where)
    storage = str(settings.dagster_home / "storage")
    assert not storage.startswith(str(settings.home)) and any(storage in f for f in where), where

    with TestClient(create_app(settings), raise_server_exceptions=False) as other:
        # Another serving app with its own caches and in-memory lists (as another process).
        assert other.get(f"/recommendations/{USER}").json()["source"] == "precomputed"
        assert api.delete(f"/users/{USER}").status_code == 401
        response = api.delete(f"/users/{USER}", headers=ADMIN)
        assert response.status_code == 200, response.text
        receipt = response.json()
        assert receipt["not_reached"] == [] and receipt["erased"] is True
        searched = " ".join(receipt["searched"])
        for place in ("warehouse", "dagster stored values", "mlflow", "great expectations"):
            assert place in searched
        assert any("Kafka" in note for note in receipt["operator_must"])

        body = api.get(f"/recommendations/{USER}").json()
        assert body["source"] == "trending"  # a new user, in this process at once
        assert api.get(f"/users/{USER}/profile").status_code == 404
        deadline = time.monotonic() + 60
        while other.get(f"/recommendations/{USER}").json()["source"] != "trending":
            assert time.monotonic() < deadline, "the other app still serves the erased user"
            time.sleep(0.1)

    assert files_naming(roots(settings), USER) == []  # already, before any retrain
    result = retrain(settings)
    matrix = result.output_for_node("interaction_matrix").matrix
    assert USER not in set(matrix.user_ids)
    assert files_naming(roots(settings), USER) == []


def test_an_unknown_user_gets_the_same_answer_and_an_indistinguishable_record(api):
    known = "known-then-erased-5c1e"
    assert (
        api.post(
            "/events", json={"user_id": known, "item_id": "i1", "event_type": "like"}
        ).status_code
        == 200
    )
    answers = [api.delete(f"/users/{user}", headers=ADMIN) for user in (known, "never-seen-9d2b")]
    assert [a.status_code for a in answers] == [200, 200]
    first, second = (a.json() for a in answers)
    differ = {k for k in first if first[k] != second[k]}
    assert differ == {"user_id", "receipt"}, differ
    assert len(first["receipt"]) == len(second["receipt"]) == 64


MID_RUN = "erased-mid-run-ß-41d0"


def test_a_user_erased_while_a_run_trains_is_not_published_by_it(api, trained_with_user, catalogue):
    """The run reads the user's events and trains; the user is erased before its exports are
    written (the files it had not yet stored are out of the erasure's reach); publishing erases
    them again, so the new version never serves them and nothing it wrote names them."""
    from recsys.erasure import records
    from recsys.erasure.everywhere import erase_everywhere
    from recsys.erasure.keys import erasure_keys
    from recsys.warehouse.connection import Warehouse

    settings = trained_with_user
    events = [
        {"user_id": MID_RUN, "item_id": i, "event_type": "view_complete"}
        for i in list(catalogue)[20:32]
    ]
    assert api.post("/events", json={"events": events}).status_code == 200
    trained = dg.AssetSelection.assets("candidate_model").upstream()
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        first = run_full_pipeline(settings, instance, selection=trained)
        assert first.success
        model = first.output_for_node("candidate_model")
        assert MID_RUN in set(model.model.train.user_ids)  # the run has the user

        store = Warehouse.from_url(settings.warehouse_url)
        erase_everywhere(store, [], MID_RUN)  # rows only: the run's files are out of reach
        with store.session() as client:
            records.record(client, erasure_keys(settings), MID_RUN)

        rest = dg.AssetSelection.all() - trained
        second = run_full_pipeline(settings, instance, selection=rest, run_config={})
    assert second.success
    published = second.asset_materializations_for_node("published_model")[0]
    assert published.metadata["users_erased_again"].value == 1
    api.post("/admin/reload", headers=ADMIN)
    assert api.get(f"/recommendations/{MID_RUN}").json()["source"] == "trending"
    assert files_naming(roots(settings), MID_RUN) == []
