"""How much items were shown: the pool of rarely shown items exploration draws from, and what
each user was shown (for demoting what they keep ignoring).

Both come from the `impressions` table, so every API process sees every process's lists; a
user's counts are read once per process (and stamp), then kept up to date by the lists this
process serves them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable

from recsys.warehouse import impression_reads
from recsys.warehouse.connection import Warehouse
from serving.held.caches import UserCache

POOL_SIZE = 200  # rarely shown items exploration picks from
POOL_REFRESH_SECONDS = 60.0
WINDOW_DAYS = 7.0  # impressions older than this no longer count


class Exposure:
    def __init__(self, warehouse: Warehouse, cache_size: int) -> None:
        self.warehouse = warehouse
        self.pool: tuple[str, ...] = ()
        self._pool_at = float("-inf")
        self._shown = UserCache(cache_size)

    def refresh_pool(self) -> bool:
        """Re-read the rarely shown items (at most once a minute)."""
        if time.monotonic() - self._pool_at < POOL_REFRESH_SECONDS:
            return False
        with self.warehouse.session() as client:
            self.pool = tuple(impression_reads.rarely_shown(client, POOL_SIZE, WINDOW_DAYS))
        self._pool_at = time.monotonic()
        return True

    def shown_to(self, user_id: str, stamp: object) -> Counter:
        """Lists that showed the user each item (a warehouse read on the first look)."""
        counts = self._shown.get(user_id, stamp)
        if counts is None:
            with self.warehouse.session() as client:
                counts = Counter(impression_reads.shown_to_user(client, user_id, WINDOW_DAYS))
            self._shown.put(user_id, stamp, counts)
        return counts

    def note(self, user_id: str, stamp: object, items: Iterable[str]) -> None:
        """Count a list just served to the user (if their counts are held)."""
        counts = self._shown.get(user_id, stamp)
        if counts is not None:
            counts.update(items)

    def forget(self, user_id: str) -> int:
        return int(self._shown.forget(user_id))

    def users(self) -> list[str]:
        return self._shown.users()
