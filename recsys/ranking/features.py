"""The ranker's features: entity features computed as SQL in the warehouse, point in time, and
the per-candidate cross features assembled from them.

Per user (SQL, as of the user's moment `as_of`): activity, decayed confidence, rating habits,
time since their last event, the shares of rated, disliked and positive pairs; and their genre
affinity (share of their pairs per genre, and how much better than their own mean they rate it).
Per (item, as_of) (each item's cumulative timeline in SQL, looked up as of the moment by
`recsys.ranking.timeline`, so only pairs up to `as_of` count): users so far, positives so far,
mean rating so far, users in the last 30 days, age since its first pair, days since its last.
Per item: release year and genre count.
Cross (numpy, per candidate): the user's affinity for the item's genres (mean, max, preference).

`as_of` is each user's latest pair in the source when training and evaluating (with a per-user
temporal split that is the user's cut-off, so nothing after it leaks in), and the request time
when serving. Sources are SQL the caller builds (a staged table or `interactions`), never
client input; values are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.ranking.timeline import (
    DAY_MS,
    ITEM_HISTORY,
    ITEM_MOMENTS_SQL,
    ITEM_TIMELINE_SQL,
    RECENT_DAYS,
    ItemTimeline,
)

USER_FEATURES = (
    "u_pairs",
    "u_decayed_confidence",
    "u_mean_rating",
    "u_rating_std",
    "u_rated_share",
    "u_dislike_share",
    "u_positive_share",
    "u_span_days",
    "u_days_since_last",
)
ITEM_STATIC = ("i_year", "i_genres")
ITEM_FEATURES = ITEM_HISTORY + ITEM_STATIC
# Users x genres cells up to which affinity is held dense (8 bytes each), for fast gathers.
DENSE_AFFINITY_CELLS = 25_000_000
CROSS_FEATURES = ("x_genre_share_mean", "x_genre_share_max", "x_genre_preference")
FEATURES = USER_FEATURES + ITEM_FEATURES + CROSS_FEATURES

EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class FeatureSources:
    """Where the features read from: SQL for the pairs and the catalogue, and the relevance
    rule (the evaluation split's) that says which pairs count as positive."""

    pairs: str  # columns user_id, item_id, confidence, disliked, last_at, rating
    items: str  # columns item_id, genres, year
    rating_threshold: float = 4.0
    min_confidence: float = 3.0
    half_life_days: float = 30.0


PAIRS_SQL = """
    SELECT user_id, item_id, confidence, disliked, last_at, rating,
        if({threshold:Float64} = 0, confidence > 0,
           disliked = 0 AND if(rating IS NULL, confidence >= {min_confidence:Float64},
                               rating >= {threshold:Float64})) AS positive
    FROM ({pairs})
"""

USERS_SQL = """
SELECT
    user_id,
    any(moment) AS as_of,
    toFloat64(count()) AS u_pairs,
    sum(confidence * exp2(-dateDiff('second', last_at, moment) / {half_life:Float64}))
        AS u_decayed_confidence,
    avgOrNull(rating) AS u_mean_rating,
    stddevPopOrNull(rating) AS u_rating_std,
    countIf(rating IS NOT NULL) / count() AS u_rated_share,
    countIf(disliked = 1) / count() AS u_dislike_share,
    countIf(positive) / count() AS u_positive_share,
    dateDiff('second', min(last_at), max(last_at)) / 86400 AS u_span_days,
    dateDiff('second', max(last_at), any(moment)) / 86400 AS u_days_since_last
FROM (
    SELECT *, if({use_now:UInt8}, {now:DateTime64(3, 'UTC')},
                 max(last_at) OVER (PARTITION BY user_id)) AS moment
    FROM ({pairs_sql})
)
GROUP BY user_id
"""

USER_GENRES_SQL = """
SELECT p.user_id AS user_id, genre,
    count() / any(u.pairs) AS share,
    avg(coalesce(p.rating - u.mean_rating, 0)) AS preference
FROM ({pairs_sql}) AS p
INNER JOIN (
    SELECT user_id, count() AS pairs, avgOrNull(rating) AS mean_rating
    FROM ({pairs_sql}) GROUP BY user_id
) AS u ON p.user_id = u.user_id
INNER JOIN (SELECT item_id, genres FROM ({items})) AS ci ON p.item_id = ci.item_id
ARRAY JOIN ci.genres AS genre
GROUP BY p.user_id, genre
"""

ITEM_STATIC_SQL = """
SELECT item_id, genres, if(year > 0, toFloat64(year), NULL) AS i_year,
    toFloat64(length(genres)) AS i_genres
FROM ({items})
"""


def _fill(sql: str, sources: FeatureSources) -> str:
    pairs = PAIRS_SQL.replace("{pairs}", sources.pairs)
    return sql.replace("{pairs_sql}", pairs).replace("{items}", sources.items)


def _rule(sources: FeatureSources) -> dict[str, object]:
    return {
        "threshold": float(sources.rating_threshold),
        "min_confidence": float(sources.min_confidence),
    }


def users(client: Client, sources: FeatureSources, now: datetime | None) -> pd.DataFrame:
    """USER_FEATURES and `as_of` per user_id (the index), as of `now` or each user's latest."""
    frame = client.query_df(
        _fill(USERS_SQL, sources),
        parameters={
            **_rule(sources),
            "half_life": float(sources.half_life_days) * 86_400,
            "use_now": int(now is not None),
            "now": now or EPOCH,
        },
    )
    frame = frame.reindex(columns=["user_id", "as_of", *USER_FEATURES])  # none: no columns
    return frame.set_index("user_id").astype({name: "float64" for name in USER_FEATURES})


def user_genres(client: Client, sources: FeatureSources) -> pd.DataFrame:
    """(user_id, genre, share, preference): each user's affinity for each genre they touched."""
    return client.query_df(
        _fill(USER_GENRES_SQL, sources), parameters=_rule(sources), settings={"join_use_nulls": 1}
    )


def item_timeline(
    client: Client, sources: FeatureSources, now_ms: int | None = None
) -> ItemTimeline:
    """Each item's cumulative history, to be looked up as of any moment (`ItemTimeline`); with
    `now_ms`, only the rows a lookup as of that moment needs."""
    timeline = _fill(ITEM_TIMELINE_SQL, sources)
    if now_ms is None:
        return ItemTimeline.from_arrow(client.query_arrow(timeline, parameters=_rule(sources)))
    moments = {"now_ms": int(now_ms), "before_ms": int(now_ms) - RECENT_DAYS * DAY_MS}
    return ItemTimeline.from_arrow(
        client.query_arrow(
            ITEM_MOMENTS_SQL.replace("{timeline}", timeline),
            parameters={**_rule(sources), **moments},
        )
    )


def items(client: Client, sources: FeatureSources) -> pd.DataFrame:
    """ITEM_STATIC and the genre list per item_id (the index)."""
    frame = client.query_df(_fill(ITEM_STATIC_SQL, sources))
    frame = frame.reindex(columns=["item_id", "genres", *ITEM_STATIC])
    return frame.set_index("item_id").astype({name: "float64" for name in ITEM_STATIC})


def genre_affinity(
    user_rows: np.ndarray, item_rows: np.ndarray, affinity: GenreAffinity, block: int = 262_144
) -> dict[str, np.ndarray]:
    """CROSS_FEATURES per candidate (user_rows[i], item_rows[i]): the user's share of pairs in
    the item's genres (mean and max over them) and their rating preference for those genres.
    Rows of -1 (a user or item the source does not know) get zeros."""
    n = len(user_rows)
    out = {name: np.zeros(n) for name in CROSS_FEATURES}
    known = np.flatnonzero((user_rows >= 0) & (item_rows >= 0))
    if len(known) == 0:
        return out
    for start in range(0, len(known), block):
        at = known[start : start + block]
        mean, top, preference = affinity.cross(user_rows[at], item_rows[at])
        out["x_genre_share_mean"][at] = mean
        out["x_genre_share_max"][at] = top
        out["x_genre_preference"][at] = preference
    return out


def row_max(matrix) -> np.ndarray:
    """Each row's largest entry of a non-negative sparse matrix (0 for a catalogue without
    genres, where scipy refuses to reduce zero columns)."""
    if matrix.shape[1] == 0:
        return np.zeros(matrix.shape[0])
    return matrix.max(axis=1).toarray().ravel()


@dataclass(frozen=True)
class GenreAffinity:
    """Sparse user x genre affinity and item x genre membership, rows as the source's indexes."""

    share: object  # scipy.sparse csr, users x genres
    preference: object  # scipy.sparse csr, users x genres
    item_genres: object  # scipy.sparse csr, items x genres (1 where the item has the genre)

    @classmethod
    def build(
        cls, user_index: pd.Index, item_frame: pd.DataFrame, genres: pd.DataFrame
    ) -> GenreAffinity:
        import scipy.sparse as sp

        # An empty result comes back without columns (a catalogue without genres).
        genres = genres.reindex(columns=["user_id", "genre", "share", "preference"])
        exploded = item_frame["genres"].explode().dropna()
        names = pd.Index(pd.unique(pd.concat([exploded, genres["genre"]], ignore_index=True)))
        rows = item_frame.index.get_indexer(exploded.index)
        membership = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, names.get_indexer(exploded.to_numpy()))),
            shape=(len(item_frame), len(names)),
        )
        membership.data[:] = 1.0  # an item listing a genre twice is still in it once
        users = user_index.get_indexer(genres["user_id"])
        cols = names.get_indexer(genres["genre"])
        keep = users >= 0
        shape = (len(user_index), len(names))

        def matrix(values: pd.Series):
            data = values.fillna(0).to_numpy(np.float64)[keep]
            return sp.csr_matrix((data, (users[keep], cols[keep])), shape=shape)

        return cls(matrix(genres["share"]), matrix(genres["preference"]), membership)

    def cross(self, u: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, ...]:
        """(mean share, max share, mean preference) over item i's genres, per (u, i) pair."""
        users, genres = self.share.shape
        if users * genres > DENSE_AFFINITY_CELLS:  # a vast vocabulary (tags): sparse products
            return self._sparse_cross(u, i)
        share_rows, preference_rows = self._dense()
        # One entry per (candidate, genre of its item): items have a genre or two, so this is
        # far less than candidates x genres.
        member = self.item_genres
        per_item = np.diff(member.indptr)
        counts = per_item[i]
        starts = np.cumsum(counts) - counts  # where each candidate's entries begin
        owner = np.repeat(np.arange(len(i)), counts)
        first = np.repeat(member.indptr[i] - starts, counts)
        genre = member.indices[first + np.arange(len(owner))]
        share = share_rows[u[owner], genre]
        preference = preference_rows[u[owner], genre]
        n = len(i)
        top = np.zeros(n)
        has = np.flatnonzero(counts)
        if len(has):
            top[has] = np.maximum.reduceat(share, starts[has])
        divisor = np.maximum(counts, 1)
        return (
            np.bincount(owner, weights=share, minlength=n) / divisor,
            top,
            np.bincount(owner, weights=preference, minlength=n) / divisor,
        )

    def _sparse_cross(self, u: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, ...]:
        member = self.item_genres[i]
        counts = np.maximum(np.asarray(member.sum(axis=1)).ravel(), 1)
        share = self.share[u].multiply(member).tocsr()
        preference = self.preference[u].multiply(member)
        return (
            np.asarray(share.sum(axis=1)).ravel() / counts,
            row_max(share),
            np.asarray(preference.sum(axis=1)).ravel() / counts,
        )

    def _dense(self) -> tuple[np.ndarray, np.ndarray]:
        return self._cached(
            "dense",
            lambda: (self.share.toarray(), self.preference.toarray()),
        )

    def _cached(self, name: str, compute):
        cache = self.__dict__.setdefault("_cache", {})  # frozen dataclass: derived arrays only
        if name not in cache:
            cache[name] = compute()
        return cache[name]
