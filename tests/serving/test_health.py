"""Health, metrics and the app's life: before any publication, and a new one without a restart."""

import time
from pathlib import Path

import dagster as dg
from fastapi.testclient import TestClient

from recsys.settings import Settings
from serving.app import create_app
from tests.conftest import copy_home, run_full_pipeline, small_settings


def test_health(api, facts):
    assert api.get("/health/live").json()["status"] == "ok"
    ready = api.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["model_version"] == facts["version"]


def test_metrics_count_requests_sources_and_events(api):
    api.get("/recommendations/u27")
    api.get("/recommendations/nobody-here")
    api.post("/events", json={"user_id": "m", "item_id": "i1", "event_type": "teleport"})
    text = api.get("/metrics").text
    assert (
        'recsys_http_requests_total{method="GET",route="/recommendations/{user_id}",status="200"}'
        in text
    )
    assert 'recsys_recommendations_served_total{source="precomputed"}' in text
    assert 'recsys_recommendations_served_total{source="trending"}' in text
    assert 'recsys_events_total{outcome="rejected"}' in text
    assert "recsys_http_request_duration_seconds_bucket" in text
    assert "recsys_model_info{algorithm=" in text and "recsys_model_age_seconds" in text


def test_before_any_publication_the_api_says_so(tmp_path: Path):
    with TestClient(create_app(small_settings(tmp_path))) as client:
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and "no published model" in ready.json()["detail"]
        recs = client.get("/recommendations/u1")
        assert recs.status_code == 503 and "full_pipeline" in recs.json()["detail"]
        # Events are accepted before any model exists.
        assert (
            client.post(
                "/events", json={"user_id": "u", "item_id": "i", "event_type": "like"}
            ).json()["accepted"]
            == 1
        )


def test_a_new_publication_is_served_without_a_restart(published: Settings, tmp_path: Path):
    settings = copy_home(published, tmp_path / "home")
    with dg.instance_for_test() as instance, TestClient(create_app(settings)) as client:
        first = client.get("/trending").json()["model_version"]
        assert run_full_pipeline(settings, instance).success
        deadline = time.monotonic() + 10
        while client.get("/trending").json()["model_version"] == first:
            assert time.monotonic() < deadline, "the API never picked up the new version"
            time.sleep(0.1)
