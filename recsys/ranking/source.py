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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd

from recsys.evaluation.split import SplitConfig
from recsys.ranking import features

PAIR_COLUMNS = ["user_id", "item_id", "confidence", "disliked", "last_at", "rating"]
SCRATCH_PREFIX = "ranker_scratch_"


@dataclass
class FeatureSource:
    """A warehouse (anything with `session()`) and the SQL sources of one set of pairs."""

    store: Any
    sources: features.FeatureSources
    now: datetime | None = None  # None: features as of each user's latest pair

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

    def features(self, candidates: pd.DataFrame) -> pd.DataFrame:
        """`features.FEATURES` of each (user_id, item_id) candidate, in the candidates' order."""
        keys = candidates[["user_id", "item_id"]].astype(str)
        table = f"{SCRATCH_PREFIX}candidates_{uuid.uuid4().hex}"
        with self.store.session() as client:
            client.command(
                f"CREATE TABLE {table} (user_id String, item_id String) "
                "ENGINE = MergeTree ORDER BY (user_id, item_id)"
            )
            try:
                client.insert_df(table, keys)
                found = features.compute(client, self.sources, table, self.now)
            finally:
                client.command(f"DROP TABLE IF EXISTS {table} SYNC")
        merged = keys.merge(found, on=["user_id", "item_id"], how="left")
        return merged[list(features.FEATURES)].set_index(candidates.index)


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
