"""The API's one cache type: least-recently-used, bounded, thread-safe."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MISSING = object()


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

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)
