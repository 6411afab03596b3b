"""Item history as of any moment: each item's cumulative counts over time, computed in the
warehouse once per source, then looked up for every (item, as_of) a block of candidates needs.

    SQL:    pairs ──window per item, ordered by time──▶ one row per (item, moment):
            users, positives, rating sum and count so far (ties share one value), first moment
    numpy:  (item, as_of) ──binary search──▶ the item's latest moment not after as_of
            (and the latest not after as_of - 30 days, for the recent count)

With a per-user temporal split every user has their own cut-off, so a block of candidates asks
for about a million distinct (item, as_of) pairs; one search over the timeline answers them
where shipping them to the warehouse for an ASOF JOIN took seconds a block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

ITEM_HISTORY = (
    "i_users",
    "i_positive",
    "i_positive_share",
    "i_mean_rating",
    "i_users_30d",
    "i_age_days",
    "i_days_since_last",
)
RECENT_DAYS = 30
DAY_MS = 86_400_000

# Ties in time share one cumulative value (RANGE frame), so one row per (item, moment) is kept.
ITEM_TIMELINE_SQL = """
SELECT item_id, toUnixTimestamp64Milli(at) AS at_ms, users_so_far, positive_so_far,
    rating_sum_so_far, rated_so_far, toUnixTimestamp64Milli(first_at) AS first_ms
FROM (
    SELECT
        item_id,
        last_at AS at,
        count() OVER w AS users_so_far,
        sum(toUInt64(positive)) OVER w AS positive_so_far,
        sum(toFloat64(ifNull(rating, 0))) OVER w AS rating_sum_so_far,
        count(rating) OVER w AS rated_so_far,
        min(last_at) OVER (PARTITION BY item_id) AS first_at
    FROM ({pairs_sql})
    WINDOW w AS (PARTITION BY item_id ORDER BY last_at
                 RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
ORDER BY item_id, at_ms
LIMIT 1 BY item_id, at_ms
"""


# Only the rows a lookup as of `now` needs: each item's latest moment not after now, and not
# after now - RECENT_DAYS (a published ranker's features; the whole timeline of a large log
# would be millions of rows to read for two per item).
ITEM_MOMENTS_SQL = """
SELECT * FROM (
    (SELECT * FROM ({timeline}) WHERE at_ms <= {now_ms:Int64}
     ORDER BY item_id, at_ms DESC LIMIT 1 BY item_id)
    UNION ALL
    (SELECT * FROM ({timeline}) WHERE at_ms <= {before_ms:Int64}
     ORDER BY item_id, at_ms DESC LIMIT 1 BY item_id)
)
ORDER BY item_id, at_ms
LIMIT 1 BY item_id, at_ms
"""


@dataclass(frozen=True)
class ItemTimeline:
    """Rows sorted by (item, moment); `items[p]` owns the rows `starts[p]:starts[p + 1]`."""

    items: pd.Index  # item ids with at least one pair
    starts: np.ndarray
    at_ms: np.ndarray  # epoch milliseconds of each moment
    users: np.ndarray  # pairs so far, per row
    positive: np.ndarray
    rating_sum: np.ndarray
    rated: np.ndarray
    first_ms: np.ndarray  # per item: its first moment
    grid: np.ndarray  # every distinct moment, sorted
    keys: np.ndarray  # per row: item * (len(grid) + 1) + the moment's place on the grid

    @classmethod
    def from_arrow(cls, table: pa.Table) -> ItemTimeline:
        codes = table.column("item_id").combine_chunks().dictionary_encode()
        ids = codes.dictionary.to_numpy(zero_copy_only=False).astype(object)
        position = codes.indices.to_numpy().astype(np.int64)
        # Rows come sorted by item id, so each item's rows are one run.
        starts = np.searchsorted(position, np.arange(len(ids) + 1))
        at_ms = table.column("at_ms").to_numpy().astype(np.int64)
        ordered = np.sort(at_ms)
        grid = (
            ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(at_ms) else at_ms
        )
        # Moments become places on one grid, so (item, moment) packs into one sortable integer.
        keys = position * (len(grid) + 1) + np.searchsorted(grid, at_ms)
        column = lambda name: table.column(name).to_numpy().astype(np.float64)  # noqa: E731
        first = table.column("first_ms").to_numpy().astype(np.int64)
        return cls(
            items=pd.Index(ids),
            starts=starts,
            at_ms=at_ms,
            users=column("users_so_far"),
            positive=column("positive_so_far"),
            rating_sum=column("rating_sum_so_far"),
            rated=column("rated_so_far"),
            first_ms=first[starts[:-1]],
            grid=grid,
            keys=keys,
        )

    def history(self, item_at: np.ndarray, as_of_ms: np.ndarray) -> dict[str, np.ndarray]:
        """ITEM_HISTORY of item `items[item_at[i]]` as of `as_of_ms[i]` (item_at -1: an item
        without pairs, which has no history yet)."""
        item_at = np.asarray(item_at, dtype=np.int64)
        now = self._latest(item_at, as_of_ms)
        before = self._latest(item_at, as_of_ms - RECENT_DAYS * DAY_MS)
        seen = now >= 0
        at = np.maximum(now, 0)
        users = np.where(seen, self._pick(self.users, at), 0.0)
        positive = np.where(seen, self._pick(self.positive, at), 0.0)
        rated = np.where(seen, self._pick(self.rated, at), 0.0)
        first = self._pick(self.first_ms, np.maximum(item_at, 0))
        with np.errstate(invalid="ignore", divide="ignore"):
            return {
                "i_users": users,
                "i_positive": positive,
                "i_positive_share": np.where(seen, positive / users, np.nan),
                "i_mean_rating": np.where(
                    rated > 0, self._pick(self.rating_sum, at) / rated, np.nan
                ),
                "i_users_30d": users - np.where(before >= 0, self._pick(self.users, before), 0.0),
                "i_age_days": np.where(seen, _whole_days(first, as_of_ms), np.nan),
                "i_days_since_last": np.where(
                    seen, _whole_days(self._pick(self.at_ms, at), as_of_ms), np.nan
                ),
            }

    def _latest(self, item_at: np.ndarray, as_of_ms: np.ndarray) -> np.ndarray:
        """Row of each item's latest moment not after as_of (-1: none, or no such item)."""
        if len(self.keys) == 0:
            return np.full(len(item_at), -1)
        place = np.searchsorted(self.grid, as_of_ms, side="right") - 1  # -1: before them all
        wanted = np.maximum(item_at, 0) * (len(self.grid) + 1) + place
        row = np.searchsorted(self.keys, wanted, side="right") - 1
        inside = (item_at >= 0) & (row >= self.starts[np.maximum(item_at, 0)])
        return np.where(inside, row, -1)

    @staticmethod
    def _pick(values: np.ndarray, at: np.ndarray) -> np.ndarray:
        return values[at] if len(values) else np.zeros(len(at), values.dtype)


def _whole_days(since_ms, until_ms: np.ndarray) -> np.ndarray:
    """Days between two moments counted in whole seconds, as ClickHouse's dateDiff('second')."""
    return (np.floor_divide(until_ms, 1000) - np.floor_divide(since_ms, 1000)) / 86_400
