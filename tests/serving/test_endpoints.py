"""Filters, diversity, explanations, catalogue, profiles, feedback, metrics, body limits."""

from collections import Counter

import pytest
from fastapi.testclient import TestClient

from recsys.settings import Settings
from serving.app import create_app


@pytest.fixture(scope="module")
def api(published: Settings):
    settings = published.model_copy(update={"api_max_body_bytes": 64 * 1024})
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def catalogue(api) -> dict[str, dict]:
    items, offset = {}, 0
    while True:
        page = api.get("/catalog", params={"offset": offset, "limit": 100}).json()
        items.update({item["item_id"]: item for item in page["items"]})
        offset += 100
        if offset >= page["total"]:
            return items


def _ids(body: dict) -> list[str]:
    return [item["item_id"] for item in body["items"]]


def _genres(catalogue, item_id) -> set[str]:
    return set(catalogue[item_id]["genres"])


def test_genre_filters_keep_and_exclude_and_top_up_from_trending(api, catalogue):
    user = "u21"
    plain = api.get(f"/recommendations/{user}", params={"k": 20}).json()
    top_genre = catalogue[_ids(plain)[0]]["genres"][0]
    only = api.get(f"/recommendations/{user}", params={"k": 20, "genres": top_genre}).json()
    assert len(only["items"]) == 20
    assert all(top_genre in _genres(catalogue, i) for i in _ids(only))
    without = api.get(
        f"/recommendations/{user}", params={"k": 20, "exclude_genres": top_genre.lower()}
    ).json()
    assert not any(top_genre in _genres(catalogue, i) for i in _ids(without))
    # A rare genre leaves the personal list short: trending fills it, still of that genre.
    counts = {}
    for item in catalogue.values():
        for g in item["genres"]:
            counts[g] = counts.get(g, 0) + 1
    rare = min(counts, key=counts.get)
    topped = api.get(f"/recommendations/{user}", params={"k": 10, "genres": rare}).json()
    assert all(rare in _genres(catalogue, i) for i in _ids(topped))
    assert len(set(_ids(topped))) == len(topped["items"])


def test_exclude_ids_and_never_anything_already_seen(api, published):
    from recsys.warehouse.connection import Warehouse

    user = "u22"
    first = _ids(api.get(f"/recommendations/{user}", params={"k": 5}).json())
    rest = api.get(f"/recommendations/{user}", params={"k": 5, "exclude_ids": first[:2]}).json()
    assert not set(first[:2]) & set(_ids(rest)) and len(rest["items"]) == 5
    with Warehouse.from_url(published.warehouse_url).session() as client:
        seen = set(
            client.query(
                "SELECT item_id FROM events WHERE user_id = {u:String}", parameters={"u": user}
            ).result_columns[0]
        )
    genres_all = api.get(f"/recommendations/{user}", params={"k": 100, "genres": "Drama"}).json()
    assert not seen & set(_ids(genres_all))  # the trending top-up skips consumed items too


def test_unknown_genre_is_422_naming_the_field(api):
    response = api.get("/recommendations/u1", params={"genres": "Dramma"})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "genres"] and "Dramma".lower() in detail["msg"]


def test_diversity_spreads_genres_and_one_keeps_the_ranking(api, catalogue):
    user = "u23"
    relevance = _ids(api.get(f"/recommendations/{user}", params={"k": 10}).json())
    same = _ids(api.get(f"/recommendations/{user}", params={"k": 10, "diversity": 1}).json())
    assert same == relevance
    varied = _ids(api.get(f"/recommendations/{user}", params={"k": 10, "diversity": 0.3}).json())

    def distinct_genres(ids):
        return len(set().union(*(_genres(catalogue, i) for i in ids)))

    assert varied[0] == relevance[0]
    assert distinct_genres(varied) > distinct_genres(relevance)


def test_explanations_name_the_users_own_items_with_shares(api, catalogue):
    user = "u24"
    body = api.get(f"/recommendations/{user}", params={"k": 5, "explain": True}).json()
    history = {item["item_id"] for item in api.get(f"/users/{user}/profile").json()["recent"]}
    for item in body["items"]:
        explanation = item["explanation"]
        assert explanation["reason"]
        shares = [b["share"] for b in explanation["because"]]
        assert shares == sorted(shares, reverse=True) and sum(shares) <= 1.0001
        for because in explanation["because"]:
            assert because["title"] == catalogue[because["item_id"]]["title"]
    reasons = {item["explanation"]["reason"] for item in body["items"]}
    assert any(r.startswith("because you ") for r in reasons), reasons
    assert history  # the profile lists recent items
    plain = api.get(f"/recommendations/{user}", params={"k": 5}).json()
    assert "explanation" not in plain["items"][0]


@pytest.mark.parametrize(
    ("event_type", "verb"), [("like", "liked"), ("view_complete", "watched"), ("rating", "rated")]
)
def test_an_explanation_uses_the_verb_of_what_the_user_did(api, catalogue, event_type, verb):
    user = f"verb-{event_type}"
    # Three items of one genre, so the list that follows is explained by them.
    genre = Counter(g for item in catalogue.values() for g in item["genres"]).most_common(1)[0][0]
    items = [i for i, item in catalogue.items() if genre in item["genres"]][:3]
    value = 5.0 if event_type == "rating" else None
    events = [{"user_id": user, "item_id": i, "event_type": event_type, "value": value}
              for i in items]  # fmt: skip
    assert api.post("/events", json={"events": events}).status_code == 200
    body = api.get(f"/recommendations/{user}", params={"k": 10, "explain": True}).json()
    titles = {catalogue[i]["title"] for i in items}
    reasons = [item["explanation"]["reason"] for item in body["items"]]
    named = [r for r in reasons if r.startswith("because you ")]
    assert named and all(r.startswith(f"because you {verb} ") for r in named), reasons
    assert {r.removeprefix(f"because you {verb} ") for r in named} <= titles


def test_trending_by_genre_and_window(api, catalogue):
    drama = api.get("/trending", params={"k": 5, "genres": "Drama"}).json()
    assert drama["window"] == "decayed" and len(drama["items"]) == 5
    assert all("Drama" in _genres(catalogue, i) for i in _ids(drama))
    week = api.get("/trending", params={"k": 5, "window": "7d"}).json()
    assert week["window"] == "7d" and len(week["items"]) == 5
    assert api.get("/trending", params={"window": "1y"}).status_code == 422


def test_catalog_search_pages_and_item_lookup(api, catalogue):
    some = next(iter(catalogue.values()))
    word = some["title"].split()[0].lower()
    page = api.get("/catalog", params={"q": word.upper(), "limit": 3}).json()
    assert page["total"] >= 1 and len(page["items"]) <= 3
    assert all(word in item["title"].lower() for item in page["items"])
    second = api.get("/catalog", params={"q": word, "limit": 3, "offset": 3}).json()
    assert not {i["item_id"] for i in page["items"]} & {i["item_id"] for i in second["items"]}
    genre = some["genres"][0]
    by_genre = api.get("/catalog", params={"genre": genre, "limit": 100}).json()
    assert all(genre in item["genres"] for item in by_genre["items"])
    assert api.get(f"/items/{some['item_id']}").json() == some
    assert api.get("/items/nope").status_code == 404


def test_similar_items_take_the_same_filters(api, catalogue):
    item = next(iter(catalogue))
    genre = catalogue[item]["genres"][0]
    body = api.get(f"/items/{item}/similar", params={"k": 8, "exclude_genres": genre}).json()
    assert len(body["items"]) == 8 and item not in _ids(body)
    assert not any(genre in _genres(catalogue, i) for i in _ids(body))


def test_profile_counts_activity_and_genre_shares(api):
    body = api.get("/users/u25/profile").json()
    assert sum(body["events_by_type"].values()) > 0
    assert body["first_activity"] <= body["last_activity"]
    assert 0 < len(body["recent"]) <= 10
    shares = [g["share"] for g in body["top_genres"]]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1.0001
    assert api.get("/users/nobody-at-all/profile").status_code == 404


def test_feedback_is_stored_as_like_and_dislike_and_changes_the_list(api):
    user = "u26"
    before = _ids(api.get(f"/recommendations/{user}", params={"k": 5}).json())
    down = api.post("/feedback", json={"user_id": user, "item_id": before[0], "feedback": "down"})
    assert down.status_code == 200 and down.json()["accepted"] == 1
    after = api.get(f"/recommendations/{user}", params={"k": 5}).json()
    assert after["source"] == "fold_in" and before[0] not in _ids(after)
    recent = api.get(f"/users/{user}/profile").json()["recent"][0]
    assert (recent["item_id"], recent["event_type"]) == (before[0], "dislike")
    bad = api.post("/feedback", json={"user_id": user, "item_id": before[1], "feedback": "meh"})
    assert bad.status_code == 422 and "feedback" in str(bad.json()["detail"])
    unknown = api.post("/feedback", json={"user_id": user, "item_id": "nope", "feedback": "up"})
    assert unknown.status_code == 404


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


def test_oversized_bodies_are_413_before_anything_is_stored(api):
    events = [{"user_id": "big", "item_id": "i1", "event_type": "like"}] * 2000  # > 64 KiB
    response = api.post("/events", json={"events": events})
    assert response.status_code == 413  # FastAPI's own limit, set from RECSYS_API_MAX_BODY_BYTES
    profile = api.get("/users/big/profile")
    assert profile.status_code == 404


def test_several_items_at_once_in_the_order_asked(api, catalogue):
    wanted = list(catalogue)[:3]
    body = api.get("/items", params={"ids": [wanted[2], f"{wanted[0]},nope", wanted[1]]}).json()
    assert [item["item_id"] for item in body["items"]] == [wanted[2], wanted[0], wanted[1]]
    assert body["items"][0]["title"] == catalogue[wanted[2]]["title"]
    assert body["missing"] == ["nope"]
    listed = api.get("/items", params={"ids": [f"x{n}" for n in range(201)]})
    assert listed.status_code == 422 and "200" in listed.text
    joined = api.get(
        "/items",
        params={"ids": [",".join(f"x{n}" for n in range(i, i + 50)) for i in range(0, 201, 50)]},
    )
    assert joined.status_code == 422 and "at most 200 ids" in joined.text
    assert api.get("/items").status_code == 422  # ids are required


def test_about_links_the_rest_of_the_system_and_serves_the_page(api, published):
    about = api.get("/about").json()
    assert about["dagster_url"] == f"http://127.0.0.1:{published.dagster_port}"
    assert about["mlflow_url"] == f"http://127.0.0.1:{published.mlflow_port}"
    assert len(about["example_users"]) == 12
    assert api.get(f"/recommendations/{about['example_users'][0]}").json()["source"] != "trending"
    assert "Drama" in about["genres"]
    # The Data Docs site the checks wrote, served by the API itself.
    assert about["data_docs_url"] == "/quality/docs/index.html"
    docs = api.get(about["data_docs_url"])
    assert docs.status_code == 200 and "static/vendor/bootstrap" in docs.text
    page = api.get("/")
    assert page.status_code == 200 and '<label for="user-id">User id</label>' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert api.get(asset).status_code == 200
    # Nothing on the page comes from another host: it has to work offline.
    for text in (page.text, api.get("/static/app.js").text, api.get("/static/style.css").text):
        assert "http://" not in text and "https://" not in text
