"""The API's one cache type, least-recently-used, bounded and thread-safe, and what is built on it:
a read-through mapping over warehouse lookups and a per-user cache keyed by version and stamp."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping

MISSING = object()
# Warehouse settings of a read-through lookup: one thread per primary-key read (the reads are
# tiny and the API has many at once).
POINT_READ = {"max_threads": 1}


class LruCache:
    """At most `capacity` entries; reading one makes it the most recent, adding one past the
    capacity drops the least recent."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, key: Hashable, default: object = MISSING) -> object:
        with self._guard:
            value = self._entries.get(key, MISSING)
            if value is not MISSING:
                self._entries.move_to_end(key)
        return default if value is MISSING else value

    def put(self, key: Hashable, value: object) -> None:
        with self._guard:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> bool:
        with self._guard:
            return self._entries.pop(key, MISSING) is not MISSING

    def held(self) -> list[Hashable]:
        with self._guard:
            return list(self._entries)

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)


class ReadThrough(Mapping):
    """A read-only mapping whose values are fetched on first use and kept (LRU)."""

    def __init__(self, fetch: Callable[[str], object | None], capacity: int) -> None:
        self._fetch = fetch
        self._cache = LruCache(capacity)

    def get(self, key: str, default=None):
        value = self._cache.get(key)
        if value is MISSING:
            value = self._fetch(key)  # None is cached too: unknown ids are not asked again
            self._cache.put(key, value)
        return default if value is None else value

    def forget(self, key: str) -> bool:
        """Read `key` again on its next use (it changed, or was erased)."""
        return self._cache.discard(key)

    def cached_keys(self) -> list[str]:
        return [str(key) for key in self._cache.held()]

    def __getitem__(self, key: str):
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[str]:
        raise TypeError("a warehouse lookup cannot list its keys")

    def __len__(self) -> int:
        return len(self._cache)


class UserCache:
    """Least-recently-used values per user, valid only for the key they were stored with
    (model version and the user's event stamp)."""

    def __init__(self, capacity: int = 20_000) -> None:
        self._cache = LruCache(capacity)

    def get(self, user_id: str, key: Hashable):
        entry = self._cache.get(user_id, None)
        if entry is None or entry[0] != key:
            return None
        return entry[1]

    def put(self, user_id: str, key: Hashable, value: object) -> None:
        self._cache.put(user_id, (key, value))

    def forget(self, user_id: str) -> bool:
        return self._cache.discard(user_id)

    def users(self) -> list[str]:
        return [str(user) for user in self._cache.held()]
