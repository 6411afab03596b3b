"""Per-request reads of a published version from ClickHouse, for catalogues too large to hold.

With `RECSYS_SERVING_READS=warehouse` the API keeps only trending lists, the genre vocabulary
and the fold-in item side in memory; users' lists, similar items and catalogue entries are
primary-key reads of the version's tables (ordered by model_version then user or item), each
kept in a small least-recently-used cache. Meant for a ClickHouse server, where reads do not
contend for a lock; the default (`memory`) loads the whole version at publication.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from recsys.warehouse.connection import Warehouse
from serving.caches import MISSING, LruCache
from serving.snapshot import ItemInfo, ScoredItem


class CachedLookup(Mapping):
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


class WarehouseLookups:
    """The lookups of one published version, reading through `warehouse`."""

    def __init__(self, warehouse: Warehouse, model_version: str, capacity: int = 50_000):
        self.warehouse = warehouse
        self.model_version = model_version
        self.recommendations = CachedLookup(self._user_list, capacity)
        self.similar = CachedLookup(self._similar, capacity)
        self.catalogue = CachedLookup(self._item, capacity)

    def _rows(self, sql: str, **params) -> list[tuple]:
        with self.warehouse.session() as client:
            return client.query(
                sql, parameters={"v": self.model_version, **params}, settings={"max_threads": 1}
            ).result_rows

    def _user_list(self, user_id: str) -> list[ScoredItem] | None:
        rows = self._rows(
            "SELECT item_id, score FROM user_recommendations "
            "WHERE model_version = {v:String} AND user_id = {key:String} ORDER BY rank",
            key=user_id,
        )
        return [(item_id, float(score)) for item_id, score in rows] or None

    def _similar(self, item_id: str) -> tuple[str, list[ScoredItem]] | None:
        rows = self._rows(
            "SELECT toString(source), similar_item_id, score FROM similar_items "
            "WHERE model_version = {v:String} AND item_id = {key:String} ORDER BY rank",
            key=item_id,
        )
        if not rows:
            return None
        return rows[0][0], [(other, float(score)) for _, other, score in rows]

    def _item(self, item_id: str) -> ItemInfo | None:
        rows = self._rows(
            "SELECT item_id, title, genres, tags, year FROM items FINAL "
            "WHERE item_id = {key:String}",
            key=item_id,
        )
        return ItemInfo.of(*rows[0]) if rows else None

    def search(self, needle: str, genre: str, offset: int, limit: int):
        """Titles containing `needle` (case-insensitive) and of `genre` (as the catalogue writes
        it) if given: (total, page)."""
        where = (
            "isValidUTF8(item_id) AND positionCaseInsensitiveUTF8(title, {needle:String}) > 0 "
            "AND ({genre:String} = '' OR has(genres, {genre:String}))"
        )
        total = self._rows(
            f"SELECT count() FROM items FINAL WHERE {where}", needle=needle, genre=genre
        )
        page = self._rows(
            f"SELECT item_id, title, genres, tags, year FROM items FINAL WHERE {where} "
            "ORDER BY lower(title), item_id LIMIT {limit:UInt32} OFFSET {offset:UInt64}",
            needle=needle,
            genre=genre,
            limit=limit,
            offset=offset,
        )
        return int(total[0][0]), [ItemInfo.of(*row) for row in page]
