"""Items each user touched through this API after the published model's data was cut off.

The published recommendations were computed before these events existed, so an item a user has
just watched, liked or disliked could still be on their list; the API filters it out at once.
Entries older than the published model's data cut-off are reflected in the model and dropped.
This covers the events this process accepted; per-request fold-in from the warehouse covers the
rest (see the freshness work).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime

# Events accepted this close to the cut-off may or may not be in the model: keep them.
CUTOFF_MARGIN_SECONDS = 60.0


class RecentInteractions:
    def __init__(self) -> None:
        self._accepted: dict[str, dict[str, float]] = {}
        self._guard = threading.Lock()

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        now = time.time()
        with self._guard:
            for user_id, item_id in pairs:
                self._accepted.setdefault(user_id, {})[item_id] = now

    def items_of(self, user_id: str) -> frozenset[str]:
        with self._guard:
            return frozenset(self._accepted.get(user_id, ()))

    def forget_before(self, cutoff: datetime) -> None:
        limit = cutoff.timestamp() - CUTOFF_MARGIN_SECONDS
        with self._guard:
            for user_id in list(self._accepted):
                kept = {i: t for i, t in self._accepted[user_id].items() if t >= limit}
                if kept:
                    self._accepted[user_id] = kept
                else:
                    del self._accepted[user_id]
