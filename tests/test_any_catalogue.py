"""Any catalogue, any ids: a MovieLens-format dataset in a taxonomy that shares no genre name
with ours (non-ASCII genres and titles), users and items whose ids differ only invisibly, and
ids that differ by a trailing NUL written by direct SQL. The pipeline publishes; every id is
its own user or item in the matrix, the exports and the API; filters, search and the web page
work in any script."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from recsys.events.ids import encode_id
from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations
from tests.conftest import run_full_pipeline, serving, small_settings

GENRES = ["Krimi", "Dokumentarfilm", "日本映画", "Ciencia ficción", "Комедия", "Drama romántico"]
TITLES = ["Amélie", "Ёлки", "千と千尋", "Ærø", "Straße", "Ümit"]
# Distinct strings that look alike or carry invisible marks: each must stay its own id.
TRICKY_USERS = ["é", "e\u0301", "\u200fuser", "👩\u200d💻", "u" * 256, "u" * 255 + "v"]
TRICKY_ITEMS = ["m\u200f1", "m1", "🎬\u200d", "x" * 256]


def _write_dataset(folder: Path) -> None:
    rng = np.random.default_rng(5)
    items = [f"m{n}" for n in range(2, 122)] + TRICKY_ITEMS
    genre_of = {item: GENRES[n % len(GENRES)] for n, item in enumerate(items)}
    movies = pd.DataFrame(
        {
            "movieId": items,
            "title": [f"{TITLES[n % 6]} {n} ({2000 + n % 20})" for n in range(len(items))],
            "genres": [genre_of[i] + ("|" + GENRES[(n + 1) % 6] if n % 3 == 0 else "")
                       for n, i in enumerate(items)],
        }
    )  # fmt: skip
    users = [f"p{n}" for n in range(150)] + TRICKY_USERS
    by_genre = {g: [i for i in items if genre_of[i] == g] for g in GENRES}
    rows = []
    for n, user in enumerate(users):
        favourite = by_genre[GENRES[n % len(GENRES)]]
        picks = set(rng.choice(favourite, size=12, replace=False))
        picks |= set(rng.choice(items, size=4, replace=False))
        if user in TRICKY_USERS:
            picks |= set(TRICKY_ITEMS)
        for m, item in enumerate(sorted(picks)):
            stars = 4.5 if genre_of[item] == GENRES[n % len(GENRES)] else 2.0
            rows.append((user, item, stars, 1_600_000_000 + n * 1_000 + m * 10))
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    folder.mkdir()
    movies.to_csv(folder / "movies.csv", index=False)
    ratings.to_csv(folder / "ratings.csv", index=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("any-catalogue")
    _write_dataset(root / "dataset")
    settings = small_settings(root / "home", dataset=f"movielens:{root / 'dataset'}")
    settings.dagster_home.mkdir(parents=True)
    warehouse = Warehouse.from_url(settings.warehouse_url)
    with warehouse.session() as client:  # another writer got there first, by direct SQL
        apply_migrations(client)
        client.insert(
            "events",
            [[b"nul-1", encode_id("p1\x00"), b"m2", "like", None, pd.Timestamp("2021-01-01"),
              "sql"],
             [b"nul-2", b"p2", encode_id("m2\x00"), "like", None, pd.Timestamp("2021-01-01"),
              "sql"]],
            column_names=["event_id", "user_id", "item_id", "event_type", "value", "timestamp",
                          "source"],
        )  # fmt: skip
    warehouse.close()
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        result = run_full_pipeline(settings, instance)
        assert result.success
    return settings


@pytest.fixture(scope="module")
def api_settings(home: Settings) -> Settings:
    return home


def test_every_id_is_its_own_user_and_item_in_the_exports(home):
    with Warehouse.from_url(home.warehouse_url).session() as client:
        version = client.query(
            "SELECT model_version FROM model_versions FINAL WHERE status = 'published'"
        ).result_rows[0][0]
        users = {
            row[0]
            for row in client.query(
                "SELECT DISTINCT user_id FROM user_recommendations "
                "WHERE model_version = {v:String}",
                parameters={"v": version},
            ).result_rows
        }
        similar = {
            row[0]
            for row in client.query(
                "SELECT DISTINCT item_id FROM similar_items WHERE model_version = {v:String}",
                parameters={"v": version},
            ).result_rows
        }
        quarantined = {
            (row[0], row[1])
            for row in client.query(
                "SELECT field, event_id FROM quarantined_events FINAL WHERE origin = 'events'"
            ).result_rows
        }
    assert set(TRICKY_USERS) <= users and "p1" in users and "p1\x00" not in users
    assert set(TRICKY_ITEMS) <= similar and "m2\x00" not in similar
    assert quarantined == {("user_id", "nul-1"), ("item_id", "nul-2")}


def test_the_api_serves_each_tricky_id_its_own_list(api, home):
    lists = {}
    for user in TRICKY_USERS:
        body = api.get(f"/recommendations/{quote(user)}", params={"k": 5}).json()
        assert body["user_id"] == user and body["source"] == "precomputed", user
        lists[user] = [i["item_id"] for i in body["items"]]
        assert not set(lists[user]) & set(TRICKY_ITEMS)  # rated them all: never recommended
    for item in TRICKY_ITEMS:
        found = api.get(f"/items/{quote(item)}")
        assert found.status_code == 200 and found.json()["item_id"] == item
        assert api.get(f"/items/{quote(item)}/similar").status_code == 200
    assert api.get(f"/items/{quote('m2' + chr(0))}").status_code == 404


def test_genres_search_and_filters_in_the_catalogues_own_taxonomy(api):
    assert sorted(api.get("/about").json()["genres"]) == sorted(GENRES)
    body = api.get("/recommendations/p2", params={"k": 5, "genres": "日本映画"}).json()
    catalogue = {
        i: api.get(f"/items/{quote(i)}").json() for i in (x["item_id"] for x in body["items"])
    }
    assert body["items"] and all("日本映画" in item["genres"] for item in catalogue.values())
    lower = api.get("/recommendations/p2", params={"k": 3, "genres": "ciencia ficción"})
    assert lower.status_code == 200
    unknown = api.get("/recommendations/p2", params={"genres": "Action"})
    assert unknown.status_code == 422 and "Комедия" in unknown.text
    found = api.get("/catalog", params={"q": "AMÉ", "genre": "krimi"}).json()
    assert found["total"] > 0 and all(i["title"].startswith("Amélie") for i in found["items"])
    assert api.get("/catalog", params={"q": "ёлки"}).json()["total"] > 0


def test_the_web_page_searches_and_shows_any_script(home, browser):
    from playwright.sync_api import expect

    with serving(home) as site:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{site}/")
        page.locator("#user-id").fill("👩\u200d💻")
        page.locator("#user-id").press("Enter")
        expect(page.locator("#recs-meta")).to_have_attribute("data-source", "precomputed")
        page.get_by_label("Title contains").fill("千と千尋")
        page.locator("#catalog-genre").select_option("日本映画")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#catalog .card").first).to_contain_text("千と千尋")
        expect(page.locator("#catalog .card").first).to_contain_text("日本映画")
        assert errors == []
