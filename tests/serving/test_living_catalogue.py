"""A living catalogue: items put, hidden, expired, deleted and re-added while the API serves,
and items the served version lacks recommended by their content before any retrain."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import api_process
from tests.serving.responses import ids

ADMIN = {"Authorization": "Bearer s3cret"}


def fields_of(item: dict, **changes) -> dict:
    """The PUT body for an item as GET returns it."""
    body = {k: v for k, v in item.items() if k != "item_id"}
    return {**body, **changes}


def put(api, item_id: str, body: dict) -> dict:
    response = api.put(f"/items/{item_id}", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def view(api, user: str, items: list[str]) -> None:
    events = [{"user_id": user, "item_id": i, "event_type": "view_complete"} for i in items]
    assert api.post("/events", json={"events": events}).status_code == 200


def listed(api, user: str, k: int = 10) -> list[str]:
    return ids(api.get(f"/recommendations/{user}", params={"k": k}).json())


@pytest.fixture(scope="module")
def by_genres(catalogue) -> dict[frozenset, list[str]]:
    groups: dict[frozenset, list[str]] = {}
    for item_id, item in catalogue.items():
        groups.setdefault(frozenset(item["genres"]), []).append(item_id)
    return groups


def test_writes_need_the_admin_token_and_valid_fields(api, catalogue):
    item = next(iter(catalogue.values()))
    body = fields_of(item)
    assert api.put("/items/x-1", json=body).status_code == 401
    assert api.delete("/items/x-1").status_code == 401
    bad = {
        "title": "nul\u0000inside",
        "genres": ["ok", "\ud800"],
        "tags": ["t" * 201],
        # What the items check would fail: refused here, so no client can stop a retrain.
        "genres ": [" Drama"],
        "genres  ": ["g" * 65],
        "genres   ": ["Drama", "Drama"],
        "title ": "   ",
        "available_until": "2400-01-01T00:00:00Z",
        "year": 0,
    }
    for field, value in bad.items():
        field = field.strip()
        raw = json.dumps({**body, field: value})  # ASCII: a lone surrogate travels escaped
        headers = {**ADMIN, "Content-Type": "application/json"}
        response = api.put("/items/x-1", content=raw, headers=headers)
        assert response.status_code == 422 and field in response.text, (field, response.text)
    backwards = {**body, "available_from": "2031-01-01T00:00:00Z"}
    backwards["available_until"] = "2030-01-01T00:00:00Z"
    response = api.put("/items/x-1", json=backwards, headers=ADMIN)
    assert response.status_code == 422 and "available_until must be after" in response.text
    assert api.put("/items/%20x", json=body, headers=ADMIN).status_code == 422  # id rule
    assert api.get("/items/x-1").status_code == 404  # nothing refused was stored
    assert api.delete("/items/never-was", headers=ADMIN).status_code == 404


def test_a_new_item_is_recommended_by_content_to_matching_users_only(api, catalogue, by_genres):
    genres, siblings = max(by_genres.items(), key=lambda group: len(group[1]))
    model = catalogue[siblings[0]]
    new = put(api, "fresh-release", fields_of(model, title=f"{model['title']} Returns"))
    assert new["item_id"] == "fresh-release" and new["hidden"] is False
    assert api.get("/items/fresh-release").json()["genres"] == model["genres"]

    own = api.get("/items/fresh-release/similar", params={"k": 5}).json()["items"]
    assert own and {i["source"] for i in own} == {"content"}
    assert set(catalogue[own[0]["item_id"]]["genres"]) == genres  # nearest reads alike
    # It enters the neighbour list of the item it reads like.
    assert "fresh-release" in ids(api.get(f"/items/{siblings[0]}/similar").json())

    # A user who watched the item it reads like, and others of its genres.
    view(api, "taste-alike", siblings[:5])
    body = api.get("/recommendations/taste-alike", params={"k": 10}).json()
    assert body["source"] == "fold_in" and "fresh-release" in ids(body)

    unrelated = [
        item_id for group, items in by_genres.items() if not group & genres for item_id in items
    ][:5]
    assert unrelated, "the synthetic catalogue has genres apart"
    view(api, "taste-apart", unrelated)
    assert "fresh-release" not in listed(api, "taste-apart", k=20)


def hide(api, catalogue, item_id: str, **changes) -> None:
    put(api, item_id, fields_of(catalogue[item_id], **changes))


def shown_anywhere(api, item_id: str, user: str, neighbour_of: str) -> dict[str, bool]:
    trending = ids(api.get("/trending", params={"k": 50}).json())
    return {
        "item": api.get(f"/items/{item_id}").status_code == 200,
        "list": item_id in listed(api, user, k=50),
        "neighbours": item_id
        in ids(api.get(f"/items/{neighbour_of}/similar", params={"k": 50}).json()),
        "trending": item_id in trending,
    }


@pytest.fixture(scope="module")
def everywhere(api, facts) -> tuple[str, str, str]:
    """(item, a user whose list has it, an item whose neighbours have it), the item trending."""
    user = facts["user"]
    trending = ids(api.get("/trending", params={"k": 50}).json())
    user_list = listed(api, user, k=50)
    for item_id in user_list:
        if item_id not in trending:
            continue
        for other in user_list:
            if other != item_id and item_id in ids(
                api.get(f"/items/{other}/similar", params={"k": 50}).json()
            ):
                return item_id, user, other
    pytest.fail("no item is in a list, a neighbour list and trending at once")


@pytest.mark.parametrize(
    "change",
    [
        {"hidden": True},
        {"available_until": (datetime.now(UTC) - timedelta(days=1)).isoformat()},
        {"available_from": (datetime.now(UTC) + timedelta(days=30)).isoformat()},
        "deleted",
    ],
    ids=["hidden", "expired", "not-yet", "deleted"],
)
def test_a_withdrawn_item_leaves_every_list_at_once_and_comes_back(
    api, catalogue, everywhere, change
):
    item_id, user, neighbour_of = everywhere
    assert shown_anywhere(api, item_id, user, neighbour_of) == dict.fromkeys(
        ("item", "list", "neighbours", "trending"), True
    )
    if change == "deleted":
        assert api.delete(f"/items/{item_id}", headers=ADMIN).json()["deleted"] is True
        reason = "deleted"
    else:
        hide(api, catalogue, item_id, **change)
        reason = {"hidden": "hidden", "available_until": "expired", "available_from": "not "}[
            next(iter(change))
        ]
    assert shown_anywhere(api, item_id, user, neighbour_of) == dict.fromkeys(
        ("item", "list", "neighbours", "trending"), False
    )
    gone = api.get(f"/items/{item_id}")
    assert gone.status_code == 404 and reason in gone.json()["detail"]
    title = catalogue[item_id]["title"]
    assert item_id not in ids(api.get("/catalog", params={"q": title}).json())
    refused = api.post(
        "/events", json={"user_id": "someone", "item_id": item_id, "event_type": "like"}
    )
    assert refused.status_code == 422 and item_id in refused.text and reason in refused.text
    # Filters top the list up: still k items.
    assert len(listed(api, user, k=10)) == 10

    put(api, item_id, fields_of(catalogue[item_id]))  # re-added, window open, not hidden
    assert shown_anywhere(api, item_id, user, neighbour_of) == dict.fromkeys(
        ("item", "list", "neighbours", "trending"), True
    )


def test_a_window_around_now_is_served(api, catalogue, everywhere):
    item_id, user, neighbour_of = everywhere
    now = datetime.now(UTC)
    window = {
        "available_from": (now - timedelta(days=1)).isoformat(),
        "available_until": (now + timedelta(days=1)).isoformat(),
    }
    shown = put(api, item_id, fields_of(catalogue[item_id], **window))
    assert shown["available_until"].startswith((now + timedelta(days=1)).strftime("%Y-%m-%d"))
    assert all(shown_anywhere(api, item_id, user, neighbour_of).values())
    put(api, item_id, fields_of(catalogue[item_id]))


@pytest.fixture(scope="module")
def second_api(api, api_settings) -> Iterator[str]:
    """Another API process on the same warehouse (started after this module's `api`)."""
    with api_process(api_settings.home) as base:
        yield base


def wait_until(condition, what: str, limit: float = 60.0) -> float:
    """Seconds until `condition()` held (a generous limit: a busy machine must not fail it)."""
    started = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        assert time.monotonic() - started < limit, f"{what} not within {limit} s"
        time.sleep(0.05)


def test_a_change_reaches_another_api_process_within_seconds(
    api, catalogue, everywhere, second_api
):
    item_id, user, _ = everywhere
    other = httpx.Client(base_url=second_api)

    def shown_there() -> bool:
        trending = ids(other.get("/trending", params={"k": 50}).json())
        mine = ids(other.get(f"/recommendations/{user}", params={"k": 50}).json())
        return item_id in trending and item_id in mine

    assert shown_there()
    hide(api, catalogue, item_id, hidden=True)
    seconds = wait_until(lambda: not shown_there(), "hidden in the other process")
    print(f"hidden item gone from the second process after {seconds:.2f} s")
    assert other.get(f"/items/{item_id}").status_code == 404
    put(api, item_id, fields_of(catalogue[item_id]))
    seconds = wait_until(shown_there, "re-added in the other process")
    print(f"re-added item back in the second process after {seconds:.2f} s")
