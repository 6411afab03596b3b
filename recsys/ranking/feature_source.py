"""Where the ranker's features are computed: a warehouse and the pairs a model is fitted on.

Evaluation splits live in memory, so `staged` writes a split's train pairs and the catalogue
into scratch tables for the duration of the work (dropped after, even on failure); the
published ranker reads `interactions` itself (`live`). Either way the feature SQL
(`recsys.ranking.features`) runs in ClickHouse, embedded or server, and scales with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from recsys.evaluation.split import SplitConfig
from recsys.ranking import features
from recsys.ranking.timeline import ItemTimeline

PAIR_COLUMNS = ["user_id", "item_id", "confidence", "disliked", "last_at", "rating"]
SCRATCH_PREFIX = "ranker_scratch_"


@dataclass
class EntityTables:
    """A source's per-entity features, read once and reused for every block of candidates."""

    users: pd.DataFrame  # USER_FEATURES and as_of, by user_id
    items: pd.DataFrame  # ITEM_STATIC and genres, by item_id
    affinity: features.GenreAffinity
    history_now: pd.DataFrame | None  # ITEM_HISTORY by item_id, when every user's as_of is now
    timeline: ItemTimeline | None  # else: item history as of each user's moment, looked up
    as_of_ms: np.ndarray  # each user's moment (epoch ms), in `users` order
    # Where a matrix's ids sit in these tables, by the ids' identity (see `positions`).
    positions: dict = field(default_factory=dict, repr=False)


@dataclass
class FeatureSource:
    """A warehouse (anything with `session()`) and the SQL sources of one set of pairs."""

    store: Any
    sources: features.FeatureSources
    now: datetime | None = None  # None: features as of each user's latest pair
    _tables: EntityTables | None = field(default=None, repr=False)

    def detached(self) -> FeatureSource:
        """This source's entity tables without the warehouse: enough to compute features as of
        one moment (`now`) in another process, not to read anything new."""
        return replace(self, store=None, _tables=self.tables())

    def on(self, store: Any) -> FeatureSource:
        """This source, with what it has read, on another handle to the same warehouse."""
        return replace(self, store=store)

    def pairs(self) -> pd.DataFrame:
        """The pairs themselves, for the ranker's own label split."""
        with self.store.session() as client:
            return client.query_df(f"SELECT {', '.join(PAIR_COLUMNS)} FROM ({self.sources.pairs})")

    def latest(self, per_user: int) -> pd.DataFrame:
        """Each user's `per_user` latest positive pairs: (user_id, item_id, last_at)."""
        with self.store.session() as client:
            return client.query_df(
                f"SELECT user_id, item_id, last_at FROM ({self.sources.pairs}) "
                "WHERE confidence > 0 ORDER BY user_id, last_at DESC, item_id "
                "LIMIT {per_user:UInt32} BY user_id",
                parameters={"per_user": per_user},
            )

    def tables(self) -> EntityTables:
        """User, item and genre-affinity features of this source (read on first use)."""
        if self._tables is None:
            with self.store.session() as client:
                users = features.users(client, self.sources, self.now)
                items = features.items(client, self.sources)
                genres = features.user_genres(client, self.sources)
                now_ms = _epoch_ms(pd.Series([self.now]))[0] if self.now is not None else None
                timeline = features.item_timeline(client, self.sources, now_ms)
            as_of_ms = _epoch_ms(users["as_of"])
            history = None
            if now_ms is not None:  # one as_of for everyone: per item, once
                at = timeline.items.get_indexer(items.index)
                moment = np.full(len(items), now_ms)
                history = pd.DataFrame(timeline.history(at, moment), index=items.index)
                timeline = None
            affinity = features.GenreAffinity.build(users.index, items, genres)
            self._tables = EntityTables(users, items, affinity, history, timeline, as_of_ms)
        return self._tables

    def features(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """`features.FEATURES` of each (user_id, item_id) candidate, in the candidates' order."""
        columns = self.feature_columns(
            candidates["user_id"].to_numpy(), candidates["item_id"].to_numpy()
        )
        return pd.DataFrame(columns, index=candidates.index)[list(features.FEATURES)]

    def positions(self, user_ids: np.ndarray, item_ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """Where each of a matrix's user and item ids sits in this source's entity tables
        (-1: unknown), computed once per matrix: string lookups per block of candidates were
        a tenth of scoring."""
        tables = self.tables()
        key = (id(user_ids), id(item_ids))
        found = tables.positions.get(key)
        # The very arrays, not equal ids in new ones: keys read back from a pickle are another
        # process's addresses. Kept with the tables they point into.
        if found is None or found[0] is not user_ids or found[1] is not item_ids:
            found = (user_ids, item_ids, *_lookup(tables, user_ids, item_ids))
            tables.positions[key] = found
        return found[2:]

    def feature_columns(
        self,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        positions: tuple[np.ndarray, ...] | None = None,
    ) -> dict[str, np.ndarray]:
        """`features.FEATURES` per candidate (user_ids[i], item_ids[i]), as float64 columns;
        `positions` (user, item, item-history rows per candidate, from `positions`) saves
        looking the ids up."""
        tables = self.tables()
        u, i, history_at = positions or _lookup(tables, user_ids, item_ids)
        columns = {
            **_gather(tables.users, features.USER_FEATURES, u),
            **_gather(tables.items, features.ITEM_STATIC, i),
            **features.genre_affinity(u, i, tables.affinity),
        }
        if tables.history_now is not None:
            columns |= _gather(tables.history_now, features.ITEM_HISTORY, history_at)
        else:  # as of each candidate's user's moment; nothing for a user the source lacks
            as_of = tables.as_of_ms[np.maximum(u, 0)] if len(tables.as_of_ms) else np.zeros(len(u))
            history = tables.timeline.history(history_at, as_of.astype(np.int64))
            columns |= {name: np.where(u >= 0, v, np.nan) for name, v in history.items()}
        return columns


def _lookup(tables: EntityTables, user_ids, item_ids) -> tuple[np.ndarray, ...]:
    """Rows of the ids in the user table, the item table and the item-history index (-1: none);
    item history is the catalogue's as of now, or the timeline's items."""
    at = tables.history_now.index if tables.history_now is not None else tables.timeline.items
    return (
        tables.users.index.get_indexer(user_ids),
        tables.items.index.get_indexer(item_ids),
        at.get_indexer(item_ids),
    )


def _epoch_ms(moments: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(moments, utc=True)).as_unit("ms").asi8


def _gather(frame: pd.DataFrame, names, at: np.ndarray) -> dict[str, np.ndarray]:
    """Columns `names` of `frame` at positions `at` (NaN where at is -1)."""
    if len(frame) == 0:
        return {name: np.full(len(at), np.nan) for name in names}
    missing = np.flatnonzero(at < 0)
    safe = np.maximum(at, 0)
    out = {}
    for name in names:  # column by column: each result is contiguous for the feature matrix
        out[name] = frame[name].to_numpy(np.float64).take(safe)
        out[name][missing] = np.nan
    return out


def live(store: Any, split: SplitConfig, now: datetime | None, half_life_days: float = 30.0):
    """The published ranker's source: every pair in `interactions`, features as of `now`."""
    return FeatureSource(
        store,
        features.FeatureSources(
            pairs=f"SELECT {', '.join(PAIR_COLUMNS)} FROM interactions",
            items="SELECT item_id, genres, year FROM items FINAL",
            rating_threshold=split.rating_threshold,
            min_confidence=split.min_confidence,
            half_life_days=half_life_days,
        ),
        now,
    )


@contextmanager
def staged(
    store: Any, pairs: pd.DataFrame, items: pd.DataFrame, split: SplitConfig
) -> Iterator[FeatureSource]:
    """A source over `pairs` and the catalogue `items`, held in scratch tables meanwhile."""
    table = f"{SCRATCH_PREFIX}items_{uuid.uuid4().hex}"
    catalogue = pd.DataFrame(
        {
            "item_id": items["item_id"].astype(str),
            "genres": items["genres"].map(lambda g: [str(x) for x in g] if g is not None else []),
            "year": pd.to_numeric(items["year"], errors="coerce").fillna(0).astype("uint16"),
        }
    )
    sources = features.FeatureSources(
        pairs="",
        items=f"SELECT * FROM {table}",
        rating_threshold=split.rating_threshold,
        min_confidence=split.min_confidence,
    )
    with store.session() as client:
        client.command(
            f"CREATE TABLE {table} (item_id String, genres Array(String), year UInt16) "
            "ENGINE = MergeTree ORDER BY item_id"
        )
    try:
        with store.session() as client:
            client.insert_df(table, catalogue)
        with narrowed(FeatureSource(store, sources), pairs) as source:
            yield source
    finally:
        with store.session() as client:
            client.command(f"DROP TABLE IF EXISTS {table} SYNC")


@contextmanager
def narrowed(parent: FeatureSource, pairs: pd.DataFrame) -> Iterator[FeatureSource]:
    """A source over `pairs` (a scratch table meanwhile), with the parent's catalogue and rules;
    features as of each user's latest pair."""
    table = f"{SCRATCH_PREFIX}pairs_{uuid.uuid4().hex}"
    rows = pairs.reindex(columns=PAIR_COLUMNS).assign(  # pairs may come without ratings
        user_id=pairs["user_id"].astype(str), item_id=pairs["item_id"].astype(str)
    )
    with parent.store.session() as client:
        client.command(
            f"CREATE TABLE {table} (user_id String, item_id String, confidence Float32, "
            "disliked UInt8, last_at DateTime64(3, 'UTC'), rating Nullable(Float32)) "
            "ENGINE = MergeTree ORDER BY (item_id, last_at)"
        )
    try:
        with parent.store.session() as client:
            client.insert_df(table, rows)
        yield FeatureSource(
            parent.store, replace(parent.sources, pairs=f"SELECT * FROM {table}"), now=None
        )
    finally:
        with parent.store.session() as client:
            client.command(f"DROP TABLE IF EXISTS {table} SYNC")
