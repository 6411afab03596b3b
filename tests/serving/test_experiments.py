"""Experiments through the real API: a challenger published beside the champion, users split
stably (in another API process too), each response naming its variant, live results, and a
winner promoted by evidence: the API serves it at once and the MLflow alias follows."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import httpx
import pytest

from recsys.warehouse import versions
from tests.conftest import SMALL_BUDGET, api_process, run_full_pipeline
from tests.serving.test_living_catalogue import wait_until

ADMIN = {"Authorization": "Bearer s3cret"}
NAME = "challenger-test"
DEFINITION = {
    "description": "retrained model against the champion, and the trending list as a floor",
    "min_users": 20,
    "variants": [
        {"name": "control", "role": "champion"},
        {"name": "challenger", "role": "challenger"},
        {"name": "trending", "list": "trending"},
    ],
}
USERS = [f"u{n}" for n in range(1, 301)]


@pytest.fixture(scope="module")
def challenger(api, api_settings) -> str:
    """A retrain published as challenger (run config), served beside the champion."""
    run_config = {
        "ops": {**SMALL_BUDGET["ops"], "candidate_model": {"config": {"role": "challenger"}}}
    }
    with dg.instance_for_test(temp_dir=str(api_settings.dagster_home)) as instance:
        result = run_full_pipeline(api_settings, instance, run_config=run_config)
    assert result.success
    published = result.asset_materializations_for_node("published_model")[0].metadata
    assert published["role"].value == "challenger"
    assert api.post("/admin/reload", headers=ADMIN).status_code == 200
    state = api.app.state.serving
    assert set(state.served) == {"champion", "challenger"}
    return published["model_version"].value


def test_definitions_need_the_admin_token_and_are_checked(api, challenger):
    assert api.put(f"/experiments/{NAME}", json=DEFINITION).status_code == 401
    invalid = {**DEFINITION, "control": "nobody"}
    response = api.put(f"/experiments/{NAME}", json=invalid, headers=ADMIN)
    assert response.status_code == 422 and "control 'nobody'" in response.text
    bad_name = api.put("/experiments/has spaces", json=DEFINITION, headers=ADMIN)
    assert bad_name.status_code == 422 and "experiment name" in bad_name.text
    mismatch = api.put(f"/experiments/{NAME}", json={**DEFINITION, "name": "x"}, headers=ADMIN)
    assert mismatch.status_code == 422
    response = api.put(f"/experiments/{NAME}", json=DEFINITION, headers=ADMIN)
    assert response.status_code == 200 and response.json()["status"] == "running"
    second = api.put("/experiments/another", json=DEFINITION, headers=ADMIN)
    assert second.status_code == 409 and "both run on recommendations" in second.text
    assert [e["name"] for e in api.get("/experiments").json()] == [NAME]
    assert api.get("/experiments/nope").status_code == 404


def test_each_response_names_its_variant_and_serves_it(api, challenger, facts):
    seen = {}
    for user in USERS[:60]:
        body = api.get(f"/recommendations/{user}").json()
        assert body["experiment"] == NAME
        seen.setdefault(body["variant"], set()).add(body["model_version"])
        if body["variant"] == "trending":
            assert body["source"] == "trending"
    assert seen["control"] == {facts["version"]}
    assert seen["challenger"] == {challenger}
    assert seen["trending"] == {facts["version"]}


@pytest.fixture(scope="module")
def second_api(api, api_settings) -> Iterator[str]:
    with api_process(api_settings.home) as base:
        yield base


def test_assignment_is_the_same_in_another_api_process(api, challenger, second_api):
    def variant(base_or_client, user) -> str | None:
        if isinstance(base_or_client, str):
            return httpx.get(f"{base_or_client}/recommendations/{user}").json().get("variant")
        return base_or_client.get(f"/recommendations/{user}").json().get("variant")

    wait_until(lambda: variant(second_api, "u1") is not None, "the experiment in process 2")
    here = {user: variant(api, user) for user in USERS[:40]}
    there = {user: variant(second_api, user) for user in USERS[:40]}
    assert here == there and len(set(here.values())) == 3


def engage(api, users) -> dict[str, int]:
    """Users browse once; challenger users click three of their items, control users one,
    every third: a clear true difference."""
    per_variant: dict[str, int] = {}
    for n, user in enumerate(users):
        body = api.get(f"/recommendations/{user}").json()
        clicks = {"challenger": 3, "control": 1 if n % 3 == 0 else 0}.get(body["variant"], 0)
        per_variant[body["variant"]] = per_variant.get(body["variant"], 0) + 1
        events = [
            {
                "user_id": user,
                "item_id": item["item_id"],
                "event_type": "view_start",
                "request_id": body["request_id"],
            }
            for item in body["items"][:clicks]
        ]
        if events:
            assert api.post("/events", json={"events": events}).status_code == 200
    api.app.state.serving.online.impressions.flush()
    return per_variant


def test_promotion_needs_evidence_then_moves_the_champion_and_the_alias(
    api, api_settings, challenger, facts
):
    early = api.post(f"/experiments/{NAME}/promote", headers=ADMIN)
    assert early.status_code == 409 and "not enough users" in early.text

    split = engage(api, USERS)
    report = api.get(f"/experiments/{NAME}").json()
    variants = {v["variant"]: v for v in report["results"]["variants"]}
    assert {name: variants[name]["users"] for name in split} == split
    challenger_result = variants["challenger"]
    assert challenger_result["lift"]["low"] > 0 and challenger_result["p_value"] < 0.05
    assert variants["control"]["ctr"]["low"] <= variants["control"]["ctr"]["value"]
    assert not report["results"]["sample_ratio_mismatch"]
    assert report["decision"]["action"] == "promote"
    by_version = {(v["variant"], v["model_version"]) for v in report["results"]["by_model_version"]}
    assert ("challenger", challenger) in by_version

    assert api.post(f"/experiments/{NAME}/promote").status_code == 401
    promoted = api.post(f"/experiments/{NAME}/promote", headers=ADMIN)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["promoted"] == challenger

    # Served at once, no restart; with the challenger's role empty the experiment waits.
    body = api.get("/recommendations/u1").json()
    assert body["model_version"] == challenger and "experiment" not in body
    assert api.get(f"/experiments/{NAME}").json()["status"] == "waiting"
    decisions = api.get(f"/experiments/{NAME}").json()["decisions"]
    assert decisions[-1]["action"] == "promote" and "challenger wins" in decisions[-1]["reason"]

    # The registry follows: the sensor moves the MLflow alias to the new champion.
    from recsys_assets.definitions import build_definitions
    from recsys_assets.resources import build_resources

    definitions = build_definitions(api_settings)
    sensor = definitions.resolve_sensor_def("registry_follows_roles")
    needed = {k: v for k, v in build_resources(api_settings).items() if k != "mlflow"}
    with dg.build_sensor_context(resources=needed) as context:
        sensor(context)
    import mlflow

    registry = mlflow.MlflowClient(tracking_uri=api_settings.tracking_uri)
    alias = registry.get_model_version_by_alias("recsys", "champion")
    assert alias.tags["model_version"] == challenger
    with api.app.state.serving.warehouse.session() as client:
        assert versions.published(client).model_version == challenger


def test_experiment_results_asset_stores_results_that_plot_over_time(api, api_settings):
    from recsys_assets.assets.experiment_results import experiment_results
    from recsys_assets.resources import build_resources

    needed = {k: v for k, v in build_resources(api_settings).items() if k != "mlflow"}
    with dg.instance_for_test(temp_dir=str(api_settings.dagster_home)) as instance:
        result = dg.materialize([experiment_results], resources=needed, instance=instance)
    assert result.success
    metadata = result.asset_materializations_for_node("experiment_results")[0].metadata
    assert metadata[f"{NAME}/challenger/ctr"].value > metadata[f"{NAME}/control/ctr"].value
    assert "| challenger |" in metadata["results"].value
    assert metadata[f"{NAME}/srm_p_value"].value > 0.001

    # The API exports the latest results for Grafana: CTR by variant and model version.
    state = api.app.state.serving
    state.online._results_at = float("-inf")
    state.online.poll()
    metrics = api.get("/metrics").text
    labels = f'experiment="{NAME}",model_version="all",variant="challenger"'
    assert f"recsys_experiment_ctr{{{labels}}}" in metrics
    assert "recsys_impressions_written_total" in metrics
    assert "recsys_impressions_dropped_total 0.0" in metrics
