"""The ranker's features, computed as SQL in the warehouse, point in time.

For each candidate (user, item) the query computes, as of the user's moment `as_of`:
- user features from the user's pairs: activity, decayed confidence, rating habits, time since
  their last event, the share of rated and disliked pairs;
- item features from every user's pairs *up to* `as_of` (an ASOF JOIN on each item's
  cumulative timeline): users so far, positives so far, mean rating so far, users in the last 30
  days, age since its first pair, days since its last one; plus its release year and genre count;
- cross features: the user's affinity for the item's genres (share of their pairs, and how much
  better than their own mean they rate them).

`as_of` is each user's latest pair in the source when training and evaluating (with a per-user
temporal split this is the user's cut-off, so nothing after it leaks in), and the request time
when serving. Sources are SQL the caller builds (a staged table or `interactions`), never
client input; values are bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

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
ITEM_FEATURES = (
    "i_users",
    "i_positive",
    "i_positive_share",
    "i_mean_rating",
    "i_users_30d",
    "i_age_days",
    "i_days_since_last",
    "i_year",
    "i_genres",
)
CROSS_FEATURES = ("x_genre_share_mean", "x_genre_share_max", "x_genre_preference")
FEATURES = USER_FEATURES + ITEM_FEATURES + CROSS_FEATURES

RECENT_DAYS = 30


@dataclass(frozen=True)
class FeatureSources:
    """Where the features read from: SQL for the pairs and the catalogue, and the relevance
    rule (the evaluation split's) that says which pairs count as positive."""

    pairs: str  # columns user_id, item_id, confidence, disliked, last_at, rating
    items: str  # columns item_id, genres, year
    rating_threshold: float = 4.0
    min_confidence: float = 3.0
    half_life_days: float = 30.0


FEATURES_SQL = """
WITH
    pairs AS (
        SELECT user_id, item_id, confidence, disliked, last_at, rating,
            if({threshold:Float64} = 0, confidence > 0,
               disliked = 0 AND if(rating IS NULL, confidence >= {min_confidence:Float64},
                                   rating >= {threshold:Float64})) AS positive
        FROM ({pairs})
    ),
    wanted AS (SELECT DISTINCT user_id, item_id FROM {candidates}),
    user_pairs AS (
        SELECT user_id, confidence, disliked, last_at, rating, positive,
            if({use_now:UInt8}, {now:DateTime64(3, 'UTC')},
               max(last_at) OVER (PARTITION BY user_id)) AS moment
        FROM pairs
        WHERE user_id IN (SELECT user_id FROM wanted)
    ),
    users AS (
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
        FROM user_pairs
        GROUP BY user_id
    ),
    timeline AS (
        SELECT
            item_id,
            last_at AS at,
            count() OVER w AS users_so_far,
            sum(toUInt64(positive)) OVER w AS positive_so_far,
            sum(ifNull(rating, 0)) OVER w AS rating_sum_so_far,
            count(rating) OVER w AS rated_so_far,
            min(last_at) OVER (PARTITION BY item_id) AS first_at
        FROM pairs
        WHERE item_id IN (SELECT item_id FROM wanted)
        WINDOW w AS (PARTITION BY item_id ORDER BY last_at
                     RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    candidates AS (
        SELECT w.user_id AS user_id, w.item_id AS item_id, u.as_of AS as_of,
            u.as_of - INTERVAL {recent_days:UInt32} DAY AS recent_from
        FROM wanted AS w INNER JOIN users AS u ON w.user_id = u.user_id
    ),
    item_now AS (
        SELECT c.user_id AS user_id, c.item_id AS item_id,
            toFloat64(ifNull(t.users_so_far, 0)) AS i_users,
            toFloat64(ifNull(t.positive_so_far, 0)) AS i_positive,
            if(t.users_so_far > 0, t.positive_so_far / t.users_so_far, NULL) AS i_positive_share,
            if(t.rated_so_far > 0, t.rating_sum_so_far / t.rated_so_far, NULL) AS i_mean_rating,
            if(t.users_so_far > 0, dateDiff('second', t.first_at, c.as_of) / 86400, NULL)
                AS i_age_days,
            if(t.users_so_far > 0, dateDiff('second', t.at, c.as_of) / 86400, NULL)
                AS i_days_since_last,
            c.recent_from AS recent_from
        FROM candidates AS c
        ASOF LEFT JOIN timeline AS t ON c.item_id = t.item_id AND t.at <= c.as_of
    ),
    item_then AS (
        SELECT c.user_id AS user_id, c.item_id AS item_id,
            toFloat64(t.users_so_far) AS users_before_recent
        FROM candidates AS c
        ASOF LEFT JOIN timeline AS t ON c.item_id = t.item_id AND t.at <= c.recent_from
    ),
    catalogue AS (
        SELECT item_id, genres, year FROM ({items})
        WHERE item_id IN (SELECT item_id FROM wanted)
    ),
    catalogue_all AS (SELECT item_id, genres FROM ({items})),
    user_genres AS (
        SELECT p.user_id AS user_id, genre,
            count() / any(u.u_pairs) AS share,
            avg(coalesce(p.rating - u.u_mean_rating, 0)) AS preference
        FROM pairs AS p
        INNER JOIN users AS u ON p.user_id = u.user_id
        INNER JOIN catalogue_all AS ci ON p.item_id = ci.item_id
        ARRAY JOIN ci.genres AS genre
        GROUP BY p.user_id, genre
    ),
    wanted_genres AS (
        SELECT w.user_id AS user_id, w.item_id AS item_id, item_genre
        FROM wanted AS w
        INNER JOIN catalogue AS ci ON w.item_id = ci.item_id
        ARRAY JOIN ci.genres AS item_genre
    ),
    cross_features AS (
        SELECT wg.user_id AS user_id, wg.item_id AS item_id,
            avg(ifNull(g.share, 0)) AS x_genre_share_mean,
            max(ifNull(g.share, 0)) AS x_genre_share_max,
            avg(ifNull(g.preference, 0)) AS x_genre_preference
        FROM wanted_genres AS wg
        LEFT JOIN user_genres AS g ON g.user_id = wg.user_id AND g.genre = wg.item_genre
        GROUP BY wg.user_id, wg.item_id
    )
SELECT
    n.user_id AS user_id, n.item_id AS item_id,
    u.u_pairs, u.u_decayed_confidence, u.u_mean_rating, u.u_rating_std, u.u_rated_share,
    u.u_dislike_share, u.u_positive_share, u.u_span_days, u.u_days_since_last,
    n.i_users, n.i_positive, n.i_positive_share, n.i_mean_rating,
    n.i_users - ifNull(th.users_before_recent, 0) AS i_users_30d,
    n.i_age_days, n.i_days_since_last,
    if(ca.year > 0, toFloat64(ca.year), NULL) AS i_year,
    toFloat64(length(ca.genres)) AS i_genres,
    x.x_genre_share_mean, x.x_genre_share_max, x.x_genre_preference
FROM item_now AS n
INNER JOIN users AS u ON n.user_id = u.user_id
LEFT JOIN item_then AS th ON n.user_id = th.user_id AND n.item_id = th.item_id
LEFT JOIN catalogue AS ca ON n.item_id = ca.item_id
LEFT JOIN cross_features AS x ON n.user_id = x.user_id AND n.item_id = x.item_id
"""


def compute(
    client: Client,
    sources: FeatureSources,
    candidates: str,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Features of every (user_id, item_id) in the `candidates` table, as of each user's latest
    pair (or as of `now`, when serving). Users without pairs in the source get no rows."""
    sql = (
        FEATURES_SQL.replace("{pairs}", sources.pairs)
        .replace("{items}", sources.items)
        .replace("{candidates}", candidates)
    )
    frame = client.query_df(
        sql,
        parameters={
            "threshold": float(sources.rating_threshold),
            "min_confidence": float(sources.min_confidence),
            "half_life": float(sources.half_life_days) * 86_400,
            "use_now": int(now is not None),
            "now": now or datetime(1970, 1, 1),
            "recent_days": RECENT_DAYS,
        },
        settings={"join_use_nulls": 1},
    )
    return frame.astype({name: "float64" for name in FEATURES})
