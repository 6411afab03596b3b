"""The catalogue the API shows: item details, genres, title search, and which items may show now.

It lives beside the served versions, not inside one: items are added, hidden, expired and
deleted while a version serves. Two implementations with one interface: in memory (the default,
loaded whole) and warehouse reads per request with a cache (`RECSYS_SERVING_READS=warehouse`, for
catalogues too large to hold). Both hold the lifecycles (`recsys.catalogue.lifecycle`) in memory,
so every list is filtered without a read. A change makes a new catalogue object
(`with_changes`); requests keep the one they started with.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from recsys.catalogue.lifecycle import ALWAYS, Availability, Lifecycle, from_rows, utc
from recsys.warehouse import item_reads
from recsys.warehouse.connection import Warehouse
from serving.held.caches import POINT_READ, ReadThrough

NO_GENRES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ItemInfo:
    item_id: str
    title: str
    genres: tuple[str, ...]
    tags: tuple[str, ...]
    year: int | None
    life: Lifecycle = ALWAYS
    genre_keys: frozenset[str] = frozenset()  # lower-case, for filters

    @classmethod
    def of(
        cls,
        item_id: str,
        title: str,
        genres,
        tags,
        year,
        available_from=None,
        available_until=None,
        hidden=0,
        deleted=0,
    ) -> ItemInfo:
        """From a row of `item_reads.ITEM_COLUMNS`."""
        genres = tuple(genres)
        life = Lifecycle(utc(available_from), utc(available_until), bool(hidden), bool(deleted))
        return cls(
            item_id, title, genres, tuple(tags), year, life, frozenset(g.lower() for g in genres)
        )


class Catalogue(ABC):
    """Items by id, the genre vocabulary (lower-case -> as written), title search, and the
    availability of each item now."""

    records: Mapping[str, ItemInfo]  # every item a client can name, withdrawn ones too
    genres: dict[str, str]
    availability: Availability

    def record(self, item_id: str) -> ItemInfo | None:
        """The item whatever its lifecycle (for histories, and to say why it is not shown)."""
        return self.records.get(item_id)

    def get(self, item_id: str) -> ItemInfo | None:
        """The item if it may be shown now, else None."""
        if item_id in self.availability.blocked():
            return None
        return self.records.get(item_id)

    def __contains__(self, item_id: str) -> bool:
        return self.get(item_id) is not None

    def blocked(self) -> frozenset[str]:
        """Ids that may not be shown now: every list leaves them out."""
        return self.availability.blocked()

    def problem(self, item_id: str) -> str | None:
        """Why the item cannot be shown or named in an event now ("deleted", "hidden",
        "expired at ..."), or None."""
        return self.availability.problem(item_id)

    def genres_of(self, item_id: str) -> frozenset[str]:
        """Lower-case genres of an item (empty for unknown items)."""
        info = self.records.get(item_id)
        return info.genre_keys if info is not None else NO_GENRES

    @abstractmethod
    def search(
        self, needle: str, genre: str, offset: int, limit: int
    ) -> tuple[int, list[ItemInfo]]:
        """Items that may show whose title contains `needle` (lower-case) and, if given, of
        `genre` (as written), sorted by title: (total, page)."""

    @abstractmethod
    def with_changes(self, changed: Iterable[ItemInfo]) -> Catalogue:
        """A new catalogue with these items replaced (this one is left as it is)."""


class MemoryCatalogue(Catalogue):
    def __init__(self, items: dict[str, ItemInfo], availability: Availability | None = None):
        self.records = items
        self.genres = {g.lower(): g for info in items.values() for g in info.genres}
        self.availability = availability or Availability(
            {item_id: info.life for item_id, info in items.items()}
        )
        # (lower-case title, item id) sorted by title: search and stable pages.
        self._titles = sorted((info.title.lower(), item_id) for item_id, info in items.items())

    @classmethod
    def load(cls, warehouse: Warehouse) -> MemoryCatalogue:
        with warehouse.session() as client:
            rows = item_reads.catalogue_rows(client)
        return cls({row[0]: ItemInfo.of(*row) for row in rows})

    def search(self, needle, genre, offset, limit):
        blocked = self.blocked()
        matches = [
            item_id
            for title, item_id in self._titles
            if needle in title
            and item_id not in blocked
            and (not genre or genre.lower() in self.records[item_id].genre_keys)
        ]
        return len(matches), [self.records[i] for i in matches[offset : offset + limit]]

    def with_changes(self, changed):
        changed = list(changed)
        items = {**self.records, **{info.item_id: info for info in changed}}
        lives = self.availability.with_changes((info.item_id, info.life) for info in changed)
        return MemoryCatalogue(items, lives)


class WarehouseCatalogue(Catalogue):
    def __init__(
        self,
        warehouse: Warehouse,
        genres: list[str],
        availability: Availability,
        records: ReadThrough | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.genres = {g.lower(): g for g in genres}
        self.availability = availability
        self.records = records or ReadThrough(self._item, capacity=50_000)

    @classmethod
    def load(cls, warehouse: Warehouse) -> WarehouseCatalogue:
        with warehouse.session() as client:
            genres = item_reads.genre_names(client)
            lives = from_rows(item_reads.lifecycle_rows(client))
        return cls(warehouse, genres, Availability(lives))

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

    def with_changes(self, changed):
        changed = list(changed)
        genres = [*self.genres.values(), *(g for info in changed for g in info.genres)]
        lives = self.availability.with_changes((info.item_id, info.life) for info in changed)
        for info in changed:  # read again on first use
            self.records.forget(info.item_id)
        return WarehouseCatalogue(self.warehouse, genres, lives, self.records)


def load_catalogue(warehouse: Warehouse, reads: str) -> Catalogue:
    """The catalogue as `RECSYS_SERVING_READS` says: `memory` or `warehouse`."""
    return (WarehouseCatalogue if reads == "warehouse" else MemoryCatalogue).load(warehouse)
