"""How the API reads a served version's lists: users' top-K and items' neighbours.

One interface, two implementations: `MemoryReads` loads the version whole when it is
published (the default); `WarehouseReads` reads one user's or item's list per request, a
primary-key read kept in a small LRU cache (`RECSYS_SERVING_READS=warehouse`, for versions too
large to hold; meant for a ClickHouse server, where reads do not contend for a lock).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from itertools import islice

from recsys.warehouse import version_reads
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.version_reads import ScoredItem
from serving.held.caches import POINT_READ, ReadThrough


class VersionReads(ABC):
    in_memory = False  # True: a read never leaves the process (no worker thread needed)
    warehouse: Warehouse | None
    model_version: str

    @abstractmethod
    def user_list(self, user_id: str) -> list[ScoredItem] | None:
        """The user's published top-K, best first; None for users the version has no list for."""

    def user_lifts(self, user_id: str) -> dict[str, list[tuple[str, float]]]:
        """Per item of the user's list, the features a learned ranker says lifted it (a point
        read: only explained requests ask)."""
        if self.warehouse is None:
            return {}
        with self.warehouse.session() as client:
            return version_reads.user_lifts(client, self.model_version, user_id, POINT_READ)

    @abstractmethod
    def similar(self, item_id: str) -> tuple[str, list[ScoredItem]] | None:
        """(source, neighbours best first) of an item; None for items without neighbours."""

    def example_users(self, n: int) -> list[str]:
        """A few users with a list, for the web page; none when listing them costs a scan."""
        return []

    @abstractmethod
    def forget_user(self, user_id: str) -> bool:
        """Drop an erased user's list (the table rows are gone already)."""

    @abstractmethod
    def held_users(self) -> list[str]:
        """The users whose lists this process holds (to find erased ones by their hash)."""


class MemoryReads(VersionReads):
    in_memory = True

    def __init__(
        self,
        user_lists: dict,
        similar_lists: dict,
        warehouse: Warehouse | None = None,
        model_version: str = "",
    ) -> None:
        self._users = user_lists
        self._similar = similar_lists
        self.warehouse = warehouse
        self.model_version = model_version

    @classmethod
    def load(cls, warehouse: Warehouse, model_version: str) -> MemoryReads:
        with warehouse.session() as client:
            return cls(
                version_reads.user_lists(client, model_version),
                version_reads.similar_lists(client, model_version),
                warehouse,
                model_version,
            )

    def user_list(self, user_id):
        return self._users.get(user_id)

    def similar(self, item_id):
        return self._similar.get(item_id)

    def example_users(self, n):
        return list(islice(self._users, n))

    def forget_user(self, user_id):
        return self._users.pop(user_id, None) is not None

    def held_users(self):
        return list(self._users)


class WarehouseReads(VersionReads):
    def __init__(self, warehouse: Warehouse, model_version: str, capacity: int = 50_000) -> None:
        self.warehouse = warehouse
        self.model_version = model_version
        self._users = ReadThrough(self._read_user, capacity)
        self._similar = ReadThrough(self._read_similar, capacity)

    @classmethod
    def load(cls, warehouse: Warehouse, model_version: str) -> WarehouseReads:
        return cls(warehouse, model_version)

    def user_list(self, user_id):
        return self._users.get(user_id)

    def similar(self, item_id):
        return self._similar.get(item_id)

    def forget_user(self, user_id):
        return self._users.forget(user_id)

    def held_users(self):
        return self._users.cached_keys()

    def _read_user(self, user_id: str):
        with self.warehouse.session() as client:
            return version_reads.user_list(client, self.model_version, user_id, POINT_READ)

    def _read_similar(self, item_id: str):
        with self.warehouse.session() as client:
            return version_reads.similar_list(client, self.model_version, item_id, POINT_READ)


def load_reads(warehouse: Warehouse, model_version: str, reads: str) -> VersionReads:
    """The version's reads as `RECSYS_SERVING_READS` says: `memory` or `warehouse`."""
    kind = WarehouseReads if reads == "warehouse" else MemoryReads
    return kind.load(warehouse, model_version)
