"""Which users acted after the published model's data cut-off.

The published recommendations were computed before these users' newest events existed: such a
user is scored at request time (`serving.lists.scoring`). Users enter here when this process accepts
their events, or when polling the warehouse finds events other writers stored. Each user carries
a stamp that changes with every new event, so a cached fold-in result is reused only while
nothing new arrived for that user.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

# Events accepted this close to the cut-off may or may not be in the model: keep them fresh.
CUTOFF_MARGIN_SECONDS = 60.0


# Items remembered per fresh user (what this process accepted): for the busy-warehouse fallback.
ITEMS_PER_USER = 1_000


@dataclass
class _Fresh:
    stamp: int = 0
    newest: float = 0.0  # epoch seconds of the newest event known for the user
    items: dict[str, float] = field(default_factory=dict)  # items accepted by this process


class FreshUsers:
    """Users with events newer than the served model, at most `capacity` of them exactly.

    Past the cap the least recently active user moves to a Bloom filter. The sweep only looks
    forward in time, so an evicted user would never be found again: the filter keeps them
    "fresh" (scored by fold-in, never served a stale precomputed list). Its false positives
    cost a user who is not fresh one extra fold-in read. Users in the filter have no stable
    stamp, so their fold-in is not cached. The filter is emptied when a new model's cut-off
    passes the newest event it may hold.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._users: OrderedDict[str, _Fresh] = OrderedDict()
        self._overflow = BloomFilter(capacity)
        self._overflow_newest = 0.0
        self._stamps = 0
        self._guard = threading.Lock()

    def add(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record (user, item) pairs whose events this process just stored."""
        now = time.time()
        with self._guard:
            for user_id, item_id in pairs:
                fresh = self._bump(user_id, now)
                fresh.items.pop(item_id, None)
                fresh.items[item_id] = now
                if len(fresh.items) > ITEMS_PER_USER:
                    del fresh.items[next(iter(fresh.items))]

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

    def stamp(self, user_id: str) -> int | None:
        """Changes whenever a new event for the user is known; None if the user is not fresh."""
        fresh = self._users.get(user_id)  # a dict read is atomic: the hot path takes no lock
        if fresh is not None:
            return fresh.stamp
        if self._overflow.count and user_id in self._overflow:
            with self._guard:  # maybe fresh, since when unknown: a stamp nothing cached
                self._stamps += 1
                return self._stamps
        return None

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
            if self._overflow_newest < limit:
                self._overflow.clear()
                self._overflow_newest = 0.0

    def forget(self, user_id: str) -> bool:
        """Drop an erased user (one evicted into the Bloom filter may still read as fresh:
        scored from their history, which is empty now, like a new user's)."""
        with self._guard:
            return self._users.pop(user_id, None) is not None

    def users(self) -> list[str]:
        with self._guard:
            return list(self._users)

    @property
    def overflowed(self) -> int:
        """Users kept in the Bloom filter (evicted since it was last emptied)."""
        return self._overflow.count

    def __len__(self) -> int:
        return len(self._users)

    def _bump(self, user_id: str, moment: float) -> _Fresh:
        fresh = self._users.get(user_id)
        if fresh is None:
            fresh = self._users[user_id] = _Fresh()
        else:
            self._users.move_to_end(user_id)
        self._stamps += 1
        fresh.stamp = self._stamps
        fresh.newest = max(fresh.newest, moment)
        while len(self._users) > self.capacity:
            evicted, old = self._users.popitem(last=False)
            self._overflow.add(evicted)
            self._overflow_newest = max(self._overflow_newest, old.newest)
        return fresh


class BloomFilter:
    """A set of strings with no false negatives, `error_rate` false positives at `capacity`
    members (more as it fills past that), in about 1.2 bytes per member."""

    def __init__(self, capacity: int, error_rate: float = 0.01) -> None:
        self.bits = max(64, math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2))
        self.hashes = max(1, round(self.bits / capacity * math.log(2)))
        self._array = bytearray((self.bits + 7) // 8)
        self.count = 0

    def _positions(self, key: str) -> list[int]:
        digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        first, second = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")
        return [(first + i * second) % self.bits for i in range(self.hashes)]

    def add(self, key: str) -> None:
        for position in self._positions(key):
            self._array[position >> 3] |= 1 << (position & 7)
        self.count += 1

    def __contains__(self, key: str) -> bool:
        return all(self._array[p >> 3] & (1 << (p & 7)) for p in self._positions(key))

    def clear(self) -> None:
        self._array = bytearray(len(self._array))
        self.count = 0
