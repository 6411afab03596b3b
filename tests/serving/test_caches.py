"""The API's caches: LRU eviction, read-through lookups (misses cached too), per-user keys."""

import pytest

from serving.held.caches import MISSING, LruCache, ReadThrough, UserCache


def test_lru_drops_the_least_recently_used():
    cache = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is MISSING and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2


def test_read_through_fetches_once_per_key_and_remembers_misses():
    asked = []

    def fetch(key):
        asked.append(key)
        return {"known": [1, 2]}.get(key)

    lookup = ReadThrough(fetch, capacity=10)
    assert lookup.get("known") == [1, 2] and lookup["known"] == [1, 2]
    assert "unknown" not in lookup and lookup.get("unknown", "default") == "default"
    with pytest.raises(KeyError):
        lookup["unknown"]
    assert asked == ["known", "unknown"]
    with pytest.raises(TypeError, match="cannot list"):
        list(lookup)


def test_user_cache_answers_only_for_the_key_it_was_stored_with():
    cache = UserCache(10)
    cache.put("u1", ("v1", 3), "ranking")
    assert cache.get("u1", ("v1", 3)) == "ranking"
    assert cache.get("u1", ("v1", 4)) is None  # a newer event
    assert cache.get("u1", ("v2", 3)) is None  # a newer version
    assert cache.get("u2", ("v1", 3)) is None
