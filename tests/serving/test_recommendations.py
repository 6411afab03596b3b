"""GET /recommendations and /trending: published lists, trending, filters, diversity, reasons."""

from collections import Counter

import pytest

from recsys.warehouse.connection import Warehouse
from tests.serving.responses import genres_of, ids


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


@pytest.mark.parametrize(
    ("path", "field"),
    [("/recommendations/u1?k=0", "k"), ("/recommendations/u1?k=101", "k"), ("/trending?k=x", "k")],
)
def test_bad_query_parameters_are_422_naming_the_field(api, path, field):
    response = api.get(path)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field


def test_genre_filters_keep_and_exclude_and_top_up_from_trending(api, catalogue):
    user = "u21"
    plain = api.get(f"/recommendations/{user}", params={"k": 20}).json()
    top_genre = catalogue[ids(plain)[0]]["genres"][0]
    only = api.get(f"/recommendations/{user}", params={"k": 20, "genres": top_genre}).json()
    assert len(only["items"]) == 20
    assert all(top_genre in genres_of(catalogue, i) for i in ids(only))
    without = api.get(
        f"/recommendations/{user}", params={"k": 20, "exclude_genres": top_genre.lower()}
    ).json()
    assert not any(top_genre in genres_of(catalogue, i) for i in ids(without))
    # A rare genre leaves the personal list short: trending fills it, still of that genre.
    counts = {}
    for item in catalogue.values():
        for g in item["genres"]:
            counts[g] = counts.get(g, 0) + 1
    rare = min(counts, key=counts.get)
    topped = api.get(f"/recommendations/{user}", params={"k": 10, "genres": rare}).json()
    assert all(rare in genres_of(catalogue, i) for i in ids(topped))
    assert len(set(ids(topped))) == len(topped["items"])


def test_exclude_ids_and_never_anything_already_seen(api, api_settings):

    user = "u22"
    first = ids(api.get(f"/recommendations/{user}", params={"k": 5}).json())
    rest = api.get(f"/recommendations/{user}", params={"k": 5, "exclude_ids": first[:2]}).json()
    assert not set(first[:2]) & set(ids(rest)) and len(rest["items"]) == 5
    with Warehouse.from_url(api_settings.warehouse_url).session() as client:
        seen = set(
            client.query(
                "SELECT item_id FROM events WHERE user_id = {u:String}", parameters={"u": user}
            ).result_columns[0]
        )
    genres_all = api.get(f"/recommendations/{user}", params={"k": 100, "genres": "Drama"}).json()
    assert not seen & set(ids(genres_all))  # the trending top-up skips consumed items too


def test_unknown_genre_is_422_naming_the_field(api):
    response = api.get("/recommendations/u1", params={"genres": "Dramma"})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "genres"] and "Dramma".lower() in detail["msg"]


def test_diversity_spreads_genres_and_one_keeps_the_ranking(api, catalogue):
    user = "u23"
    relevance = ids(api.get(f"/recommendations/{user}", params={"k": 10}).json())
    same = ids(api.get(f"/recommendations/{user}", params={"k": 10, "diversity": 1}).json())
    assert same == relevance
    varied = ids(api.get(f"/recommendations/{user}", params={"k": 10, "diversity": 0.3}).json())

    def distinctgenres_of(ids):
        return len(set().union(*(genres_of(catalogue, i) for i in ids)))

    assert varied[0] == relevance[0]
    assert distinctgenres_of(varied) > distinctgenres_of(relevance)


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
    assert all("Drama" in genres_of(catalogue, i) for i in ids(drama))
    week = api.get("/trending", params={"k": 5, "window": "7d"}).json()
    assert week["window"] == "7d" and len(week["items"]) == 5
    assert api.get("/trending", params={"window": "1y"}).status_code == 422
