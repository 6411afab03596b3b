"""Which users acted after the published model's data cut-off, and their fold-in results.

The published recommendations were computed before these users' newest events existed: such a
user is scored at request time (`serving.personal`). Users enter here when this process accepts
their events, or when polling the warehouse finds events other writers stored. Each user carries
a generation that changes with every new event, so a cached fold-in result is reused only while
nothing new arrived for that user.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

# Events accepted this close to the cut-off may or may not be in the model: keep them fresh.
CUTOFF_MARGIN_SECONDS = 60.0


@dataclass
class _Fresh:
    generation: int = 0
    newest: float = 0.0  # epoch seconds of the newest event known for the user
    items: dict[str, float] = field(default_factory=dict)  # items accepted by this process


class FreshUsers:
    def __init__(self) -> None:
        self._users: dict[str, _Fresh] = {}
        self._generations = 0
        self._guard = threading.Lock()

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record (user, item) pairs whose events this process just stored."""
        now = time.time()
        with self._guard:
            for user_id, item_id in pairs:
                fresh = self._bump(user_id, now)
                fresh.items[item_id] = now

    def merge(self, newest_by_user: dict[str, datetime]) -> int:
        """Record users the warehouse says have events newer than we knew; returns how many."""
        changed = 0
        with self._guard:
            for user_id, newest in newest_by_user.items():
                moment = newest.timestamp()
                known = self._users.get(user_id)
                if known is None or moment > known.newest:
                    self._bump(user_id, moment)
                    changed += 1
        return changed

    def generation(self, user_id: str) -> int | None:
        """Changes whenever a new event for the user is known; None if the user is not fresh."""
        with self._guard:
            fresh = self._users.get(user_id)
            return fresh.generation if fresh else None

    def items_of(self, user_id: str) -> frozenset[str]:
        with self._guard:
            fresh = self._users.get(user_id)
            return frozenset(fresh.items) if fresh else frozenset()

    def forget_before(self, cutoff: datetime) -> None:
        """Drop users whose events all precede a new model's cut-off: the model has them."""
        limit = cutoff.timestamp() - CUTOFF_MARGIN_SECONDS
        with self._guard:
            for user_id in [u for u, fresh in self._users.items() if fresh.newest < limit]:
                del self._users[user_id]

    def __len__(self) -> int:
        return len(self._users)

    def _bump(self, user_id: str, moment: float) -> _Fresh:
        fresh = self._users.setdefault(user_id, _Fresh())
        self._generations += 1
        fresh.generation = self._generations
        fresh.newest = max(fresh.newest, moment)
        return fresh


@dataclass(frozen=True)
class Ranked:
    """A scored list: where it came from, item ids best first, and their scores."""

    source: str  # "fold_in" or "trending"
    item_ids: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class History:
    """A user's items with their confidence (0 where disliked), from all their events."""

    item_ids: np.ndarray
    confidences: np.ndarray
    disliked: np.ndarray

    @property
    def seen(self) -> frozenset[str]:
        return frozenset(str(i) for i in self.item_ids)


class UserCache:
    """Least-recently-used values per user, valid only for the key they were stored with
    (model version and the user's event generation)."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[Hashable, object]] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, user_id: str, key: Hashable):
        with self._guard:
            entry = self._entries.get(user_id)
            if entry is None or entry[0] != key:
                return None
            self._entries.move_to_end(user_id)
            return entry[1]

    def put(self, user_id: str, key: Hashable, value: object) -> None:
        with self._guard:
            self._entries[user_id] = (key, value)
            self._entries.move_to_end(user_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
