"""The FastAPI app through its lifespan, against a warehouse where the pipeline published."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from fastapi.testclient import TestClient

from recsys.settings import Settings
from recsys.warehouse import versions
from recsys.warehouse.connection import Warehouse
from serving.app import create_app
from tests.conftest import run_full_pipeline, small_settings


@pytest.fixture(scope="module")
def api(published: Settings):
    with TestClient(create_app(published)) as client:
        yield client


@pytest.fixture(scope="module")
def facts(published: Settings) -> dict:
    with Warehouse.from_url(published.warehouse_url).session() as client:
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


def _count_events(settings: Settings, where: str, **params) -> tuple[int, int]:
    """(rows as deduplicated, physical rows) for events matching `where`."""
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        final = client.query(f"SELECT count() FROM events FINAL WHERE {where}", parameters=params)
        raw = client.query(f"SELECT count() FROM events WHERE {where}", parameters=params)
        return final.result_rows[0][0], raw.result_rows[0][0]


def test_known_user_gets_the_published_top_k(api, facts):
    body = api.get(f"/recommendations/{facts['user']}", params={"k": 5}).json()
    assert body["model_version"] == facts["version"]
    assert (body["source"], body["algorithm"]) == ("precomputed", facts["algorithm"])
    assert [item["item_id"] for item in body["items"]] == facts["top"]
    assert {item["source"] for item in body["items"]} == {facts["algorithm"]}
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_unknown_user_gets_trending_never_an_error(api):
    body = api.get("/recommendations/someone-new", params={"k": 3}).json()
    trending = api.get("/trending", params={"k": 3}).json()
    assert [i["item_id"] for i in body["items"]] == [i["item_id"] for i in trending["items"]]
    assert len(body["items"]) == 3 and {i["source"] for i in body["items"]} == {"trending"}
    assert body["source"] == "trending"


def test_similar_items_exclude_the_item_and_unknown_items_are_404(api, facts):
    body = api.get(f"/items/{facts['item']}/similar", params={"k": 4}).json()
    assert len(body["items"]) == 4 and facts["item"] not in {i["item_id"] for i in body["items"]}
    assert {i["source"] for i in body["items"]} <= {facts["algorithm"], "content_tfidf"}
    missing = api.get("/items/no-such-item/similar")
    assert missing.status_code == 404 and "no-such-item" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [("/recommendations/u1?k=0", "k"), ("/recommendations/u1?k=101", "k"), ("/trending?k=x", "k")],
)
def test_bad_query_parameters_are_422_naming_the_field(api, path, field):
    response = api.get(path)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_posted_events_are_stored_once_even_when_retried(api, published):
    event = {"user_id": "api-user-1", "item_id": "i1", "event_type": "like", "event_id": "retry-1"}
    first = api.post("/events", json=event)
    again = api.post("/events", json=event)
    assert first.status_code == again.status_code == 200
    assert first.json() == {
        "accepted": 1,
        "stored": 1,
        "repeated_in_batch": 0,
        "event_ids": ["retry-1"],
    }
    batch = api.post(
        "/events",
        json={
            "events": [
                {"user_id": "api-user-1", "item_id": "i2", "event_type": "view_start"},
                {
                    "user_id": "api-user-1",
                    "item_id": "i3",
                    "event_type": "rating",
                    "value": 4.5,
                    "timestamp": "2025-06-01T12:00:00Z",
                },
            ]
        },
    )
    assert batch.json()["accepted"] == 2
    final, _ = _count_events(published, "user_id = {u:String}", u="api-user-1")
    assert final == 3
    assert _count_events(published, "event_id = 'retry-1'")[0] == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"user_id": "u", "event_type": "like"}, "item_id"),
        ({"user_id": "u", "item_id": "i", "event_type": "teleport"}, "event_type"),
        (
            {"user_id": "u", "item_id": "i", "event_type": "rating", "value": 9},
            "outside [0.5, 5.0]",
        ),
        ({"user_id": "u", "item_id": "i", "event_type": "rating"}, "value is required"),
        ({"user_id": "", "item_id": "i", "event_type": "like"}, "user_id"),
        ({"user_id": "u", "item_id": "i", "event_type": "like", "colour": "red"}, "colour"),
        (
            {
                "user_id": "u",
                "item_id": "i",
                "event_type": "like",
                "timestamp": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
            },
            "in the future",
        ),
        ({"events": []}, "events"),
        ({"events": [{"user_id": "u", "item_id": "i", "event_type": "like"}] * 10_001}, "events"),
    ],
)
def test_bad_events_are_422_with_a_message_and_nothing_is_stored(api, published, payload, message):
    before = _count_events(published, "1")
    response = api.post("/events", json=payload)
    assert response.status_code == 422
    assert message in str(response.json()["detail"])
    assert _count_events(published, "1") == before


def test_health(api, facts):
    assert api.get("/health/live").json()["status"] == "ok"
    ready = api.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["model_version"] == facts["version"]


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


def test_a_new_publication_is_served_without_a_restart(tmp_path: Path):
    settings = small_settings(tmp_path)
    with dg.instance_for_test() as instance:
        assert run_full_pipeline(settings, instance).success
        with TestClient(create_app(settings)) as client:
            first = client.get("/trending").json()["model_version"]
            assert run_full_pipeline(settings, instance).success
            deadline = time.monotonic() + 10
            while client.get("/trending").json()["model_version"] == first:
                assert time.monotonic() < deadline, "the API never picked up the new version"
                time.sleep(0.1)


def test_model_reports_the_published_version_against_popularity(api, facts):
    body = api.get("/model").json()
    assert body["model_version"] == facts["version"]
    assert body["algorithm"] in {"als", "ease", "item_knn", "content_tfidf", "hybrid"}
    assert body["params"]
    for metrics in (body["metrics"], body["baseline_metrics"]["popularity"]):
        assert set(metrics) == {
            "ndcg_at_10",
            "precision_at_10",
            "recall_at_10",
            "map_at_10",
            "coverage",
        }
        assert all(0 <= value <= 1 for value in metrics.values())
    assert body["metrics"]["ndcg_at_10"] > body["baseline_metrics"]["popularity"]["ndcg_at_10"]
