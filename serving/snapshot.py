"""The published model version's tables, loaded into memory for serving.

A snapshot is immutable once built; the API swaps the whole object when a new version is
published, so every request reads exactly one version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from clickhouse_connect.driver.client import Client

from recsys.foldin import FoldInModel, FoldInSpec
from recsys.warehouse import versions
from recsys.warehouse.item_model import read_item_model

if TYPE_CHECKING:
    from serving.lookups import WarehouseLookups

ScoredItem = tuple[str, float]
DEFAULT_WINDOW = "decayed"
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


@dataclass(frozen=True)
class Snapshot:
    version: versions.ModelVersion
    # dicts in memory, or per-request warehouse lookups with a cache (serving/lookups.py)
    recommendations: Mapping[str, list[ScoredItem]] = field(repr=False)
    similar: Mapping[str, tuple[str, list[ScoredItem]]] = field(repr=False)  # (source, list)
    trending_by_window: dict[str, list[ScoredItem]] = field(repr=False)
    catalogue: Mapping[str, ItemInfo] = field(repr=False)
    # Request-time scoring for users with newer events; None for versions published without it.
    fold_in: FoldInModel | None = field(default=None, repr=False)
    genres: dict[str, str] = field(default_factory=dict, repr=False)  # lower-case -> as written
    # (lower-case title, item id) sorted by title: catalogue search and stable pages.
    titles: list[tuple[str, str]] = field(default_factory=list, repr=False)
    search_catalogue: Callable | None = field(default=None, repr=False)  # warehouse reads
    in_memory: bool = True

    @property
    def model_version(self) -> str:
        return self.version.model_version

    @property
    def algorithm(self) -> str:
        return self.version.algorithm

    @property
    def trained_at(self) -> datetime:
        return self.version.trained_at

    @property
    def published_at(self) -> datetime | None:
        return self.version.published_at

    @property
    def events_ingested_until(self) -> datetime:
        return self.version.events_ingested_until

    @property
    def trending(self) -> list[ScoredItem]:
        return self.trending_by_window.get(DEFAULT_WINDOW, [])

    @property
    def item_ids(self) -> dict[str, ItemInfo]:
        return self.catalogue

    def genres_of(self, item_id: str) -> frozenset[str]:
        """Lower-case genres of an item (empty for unknown items)."""
        info = self.catalogue.get(item_id)
        return info.genre_keys if info is not None else NO_GENRES

    def search(
        self, needle: str, keep: Callable[[str], bool], offset: int, limit: int, genre: str
    ) -> tuple[int, list[ItemInfo]]:
        """Items whose title contains `needle` (lower-case), sorted by title: (total, page)."""
        if self.search_catalogue is not None:
            return self.search_catalogue(needle, genre, offset, limit)
        matches = [i for title, i in self.titles if needle in title and keep(i)]
        return len(matches), [self.catalogue[i] for i in matches[offset : offset + limit]]

    def similarity(self, item_ids: list[str]) -> np.ndarray:
        """Pairwise content similarity in [0, 1] (TF-IDF cosine; genre overlap as a fallback)."""
        if self.fold_in is not None:
            columns = [self.fold_in.column_of.get(i, -1) for i in item_ids]
            if all(c >= 0 for c in columns):
                vectors = self.fold_in.items.content[columns]
                return np.clip((vectors @ vectors.T).toarray(), 0.0, 1.0)
        sets = [self.genres_of(i) for i in item_ids]
        return np.array([[len(a & b) / len(a | b) if a | b else 0.0 for b in sets] for a in sets])


def load_snapshot(client: Client, version: versions.ModelVersion) -> Snapshot:
    """Read every derived table of `version` (and the catalogue) in one session."""
    params = {"v": version.model_version}
    recommendations = _grouped(
        client,
        """
        SELECT user_id, groupArray((item_id, score)) FROM (
            SELECT user_id, item_id, score FROM user_recommendations
            WHERE model_version = {v:String} ORDER BY user_id, rank
        ) GROUP BY user_id
        """,
        params,
    )
    similar = {
        item_id: (source, [(other, float(score)) for other, score in pairs])
        for item_id, source, pairs in client.query(
            """
            SELECT item_id, any(source), groupArray((similar_item_id, score)) FROM (
                SELECT item_id, source, similar_item_id, score FROM similar_items
                WHERE model_version = {v:String} ORDER BY item_id, rank
            ) GROUP BY item_id
            """,
            parameters=params,
        ).result_rows
    }
    trending = load_trending(client, version.model_version)
    # An id that is not valid UTF-8 would read back as its hex text, which could shadow a real
    # item; no valid event can name it anyway (the items check reports it).
    catalogue = {
        row[0]: ItemInfo.of(*row)
        for row in client.query(
            "SELECT item_id, title, genres, tags, year FROM items FINAL WHERE isValidUTF8(item_id)"
        ).result_rows
    }
    fold_in = load_fold_in(client, version)
    genres = {g.lower(): g for info in catalogue.values() for g in info.genres}
    return Snapshot(
        version=version,
        recommendations=recommendations,
        similar=similar,
        trending_by_window=trending,
        catalogue=catalogue,
        fold_in=fold_in,
        genres=genres,
        titles=sorted((info.title.lower(), item_id) for item_id, info in catalogue.items()),
    )


def load_lookup_snapshot(
    client: Client, version: versions.ModelVersion, lookups: WarehouseLookups
) -> Snapshot:
    """A snapshot that reads users' lists, similar items and items per request (cached)."""
    genres = {
        g.lower(): g
        for (g,) in client.query("SELECT DISTINCT arrayJoin(genres) FROM items FINAL").result_rows
    }
    return Snapshot(
        version=version,
        recommendations=lookups.recommendations,
        similar=lookups.similar,
        trending_by_window=load_trending(client, version.model_version),
        catalogue=lookups.catalogue,
        fold_in=load_fold_in(client, version),
        genres=genres,
        search_catalogue=lookups.search,
        in_memory=False,
    )


def load_fold_in(client: Client, version: versions.ModelVersion) -> FoldInModel | None:
    item_side = read_item_model(client, version.model_version) if version.fold_in else None
    return FoldInModel(FoldInSpec.from_json(version.fold_in), item_side) if item_side else None


def load_trending(client: Client, model_version: str) -> dict[str, list[ScoredItem]]:
    return _grouped(
        client,
        """
        SELECT window, groupArray((item_id, score)) FROM (
            SELECT toString(window) AS window, item_id, score FROM trending_items
            WHERE model_version = {v:String} ORDER BY window, rank
        ) GROUP BY window
        """,
        {"v": model_version},
    )


def _grouped(client: Client, sql: str, params: dict) -> dict[str, list[ScoredItem]]:
    return {
        key: [(item_id, float(score)) for item_id, score in pairs]
        for key, pairs in client.query(sql, parameters=params).result_rows
    }
