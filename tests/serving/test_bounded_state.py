"""Every per-user structure in the API has a cap: past it, users move to a Bloom filter whose
errors are safe (a false positive costs one fold-in read, never a stale precomputed list)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from recsys.settings import Settings
from serving.app import create_app
from serving.held.caches import UserCache
from serving.held.freshness import ITEMS_PER_USER, BloomFilter, FreshUsers


def test_past_the_cap_users_stay_fresh_through_the_filter():
    fresh = FreshUsers(capacity=100)
    fresh.add((f"user-{n}", "i1") for n in range(1_000))
    assert len(fresh) == 100 and fresh.overflowed == 900
    # No user who has newer events is ever reported as not fresh (no stale list).
    assert all(fresh.stamp(f"user-{n}") is not None for n in range(1_000))
    # An evicted user has no stable stamp: nothing cached for them is ever reused.
    assert fresh.stamp("user-0") != fresh.stamp("user-0")
    # The newest stay exact, with their items.
    assert fresh.items_of("user-999") == {"i1"} and fresh.items_of("user-0") == frozenset()


def test_false_positives_stay_near_the_designed_rate():
    bloom = BloomFilter(capacity=10_000, error_rate=0.01)
    for n in range(10_000):
        bloom.add(f"in-{n}")
    assert all(f"in-{n}" in bloom for n in range(10_000))
    false_positives = sum(f"out-{n}" in bloom for n in range(20_000))
    assert false_positives / 20_000 < 0.02


def test_a_new_model_empties_the_filter_once_it_covers_every_evicted_event():
    fresh = FreshUsers(capacity=2)
    fresh.merge({f"u{n}": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n) for n in range(5)})
    assert fresh.overflowed == 3
    fresh.forget_before(datetime(2026, 1, 1, 1, tzinfo=UTC))  # older than some evicted events
    assert fresh.overflowed == 3 and fresh.stamp("u0") is not None
    fresh.forget_before(datetime(2026, 1, 2, tzinfo=UTC))  # the model has all of them
    assert fresh.overflowed == 0 and len(fresh) == 0 and fresh.stamp("u0") is None


def test_items_remembered_per_user_are_capped():
    fresh = FreshUsers()
    fresh.add(("busy-user", f"i{n}") for n in range(ITEMS_PER_USER + 500))
    items = fresh.items_of("busy-user")
    assert len(items) == ITEMS_PER_USER and f"i{ITEMS_PER_USER + 499}" in items


def test_the_caches_are_bounded():
    cache = UserCache(capacity=3)
    for n in range(10):
        cache.put(f"u{n}", "k", n)
    assert [cache.get(f"u{n}", "k") for n in range(10)] == [None] * 7 + [7, 8, 9]


def test_200k_new_users_cost_bounded_memory():
    fresh = FreshUsers(capacity=10_000)
    tracemalloc.start()
    fresh.add((f"anonymous-{n}", "i1") for n in range(200_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(fresh) == 10_000 and fresh.overflowed == 190_000
    assert peak < 40 * 1024 * 1024  # was about 153 MB, growing with every new id


def test_the_api_keeps_at_most_its_cap_and_scores_every_fresh_user(writable_home: Settings):
    settings = writable_home.model_copy(update={"api_fresh_users_max": 5})
    with TestClient(create_app(settings)) as api:
        users = [f"capped-{n}" for n in range(20)]
        for user in users:
            api.post("/events", json={"user_id": user, "item_id": "i1", "event_type": "like"})
        state = api.app.state.serving
        assert len(state.fresh) == 5 and state.fresh.overflowed == 15
        for user in users:  # evicted or not, every one is served from their events
            body = api.get(f"/recommendations/{user}", params={"k": 5}).json()
            assert body["source"] == "fold_in" and "i1" not in [i["item_id"] for i in body["items"]]
        tracked = len(state.fresh) + state.fresh.overflowed
        assert f"recsys_fresh_users {tracked}.0" in api.get("/metrics").text
