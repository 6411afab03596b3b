"""The catalogue the API shows: item details, genres and title search.

It lives beside the served versions, not inside one: items will be added, hidden and deleted
while a version serves. Two implementations with one interface: in memory (the default, loaded
whole) and warehouse reads per request with a cache (`RECSYS_SERVING_READS=warehouse`, for
catalogues too large to hold).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from recsys.warehouse import item_reads
from recsys.warehouse.connection import Warehouse
from serving.caches import POINT_READ, ReadThrough

NO_GENRES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ItemInfo:
    item_id: str
    title: str
    genres: tuple[str, ...]
    tags: tuple[str, ...]
    year: int | None
    genre_keys: frozenset[str] = frozenset()  # lower-case, for filters

    @classmethod
    def of(cls, item_id: str, title: str, genres, tags, year) -> ItemInfo:
        genres = tuple(genres)
        return cls(item_id, title, genres, tuple(tags), year, frozenset(g.lower() for g in genres))


class Catalogue(ABC):
    """Items by id, the genre vocabulary (lower-case -> as written) and title search."""

    items: Mapping[str, ItemInfo]
    genres: dict[str, str]

    def get(self, item_id: str) -> ItemInfo | None:
        return self.items.get(item_id)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.items

    def genres_of(self, item_id: str) -> frozenset[str]:
        """Lower-case genres of an item (empty for unknown items)."""
        info = self.items.get(item_id)
        return info.genre_keys if info is not None else NO_GENRES

    @abstractmethod
    def search(
        self, needle: str, genre: str, offset: int, limit: int
    ) -> tuple[int, list[ItemInfo]]:
        """Items whose title contains `needle` (lower-case) and, if given, of `genre` (as
        written), sorted by title: (total, page)."""


class MemoryCatalogue(Catalogue):
    def __init__(self, items: dict[str, ItemInfo]) -> None:
        self.items = items
        self.genres = {g.lower(): g for info in items.values() for g in info.genres}
        # (lower-case title, item id) sorted by title: search and stable pages.
        self._titles = sorted((info.title.lower(), item_id) for item_id, info in items.items())

    @classmethod
    def load(cls, warehouse: Warehouse) -> MemoryCatalogue:
        with warehouse.session() as client:
            rows = item_reads.servable_rows(client)
        return cls({row[0]: ItemInfo.of(*row) for row in rows})

    def search(self, needle, genre, offset, limit):
        matches = [
            item_id
            for title, item_id in self._titles
            if needle in title and (not genre or genre.lower() in self.items[item_id].genre_keys)
        ]
        return len(matches), [self.items[i] for i in matches[offset : offset + limit]]


class WarehouseCatalogue(Catalogue):
    def __init__(self, warehouse: Warehouse, genres: list[str], capacity: int = 50_000) -> None:
        self.warehouse = warehouse
        self.genres = {g.lower(): g for g in genres}
        self.items = ReadThrough(self._item, capacity)

    @classmethod
    def load(cls, warehouse: Warehouse) -> WarehouseCatalogue:
        with warehouse.session() as client:
            return cls(warehouse, item_reads.genre_names(client))

    def _item(self, item_id: str) -> ItemInfo | None:
        with self.warehouse.session() as client:
            row = item_reads.item_row(client, item_id, settings=POINT_READ)
        return ItemInfo.of(*row) if row else None

    def search(self, needle, genre, offset, limit):
        with self.warehouse.session() as client:
            total, rows = item_reads.search_rows(
                client, needle, genre, offset, limit, settings=POINT_READ
            )
        return total, [ItemInfo.of(*row) for row in rows]


def load_catalogue(warehouse: Warehouse, reads: str) -> Catalogue:
    """The catalogue as `RECSYS_SERVING_READS` says: `memory` or `warehouse`."""
    return (WarehouseCatalogue if reads == "warehouse" else MemoryCatalogue).load(warehouse)
