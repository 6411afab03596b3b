"""The expectations each table must meet, and the frames they are checked on.

Checks that are not a plain column rule (already-seen items, scores that rise down a list,
users left without recommendations) become derived columns first, so GX reports them like
any other expectation: expected, observed, failing rows and a sample.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import great_expectations as gx
import numpy as np
import pandas as pd

from recsys.data.synthetic import GENRES
from recsys.events import EVENT_TYPES, VALUE_RANGES
from recsys.quality.reads import RecommendationTotals
from recsys.quality.runner import Report, validate

E = gx.expectations
# MovieLens's genre vocabulary: the synthetic generator draws from the same names, plus IMAX.
KNOWN_GENRES = frozenset(GENRES) | {"IMAX"}
FUTURE_TOLERANCE = timedelta(minutes=5)


def check_events(
    events: pd.DataFrame,
    epoch: datetime,
    now: datetime,
    max_duplicate_rate: float = 0.01,
    docs_root: Path | None = None,
) -> Report:
    """Ids present, known types, values in range for their type, sane times, few duplicates."""
    # Unix seconds whatever the column's resolution (chDB returns ms, pandas builds ns).
    since_epoch = pd.to_datetime(events["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")
    frame = events.assign(timestamp_s=since_epoch.dt.total_seconds())
    expectations = [
        *(E.ExpectColumnValuesToNotBeNull(column=c) for c in ("event_id", "user_id", "item_id")),
        *(
            E.ExpectColumnValueLengthsToBeBetween(column=c, min_value=1)
            for c in ("event_id", "user_id", "item_id")
        ),
        E.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES)),
        E.ExpectColumnValuesToNotBeNull(
            column="value", row_condition='event_type=="rating"', condition_parser="pandas"
        ),
        E.ExpectColumnValuesToBeBetween(
            column="timestamp_s",
            min_value=epoch.timestamp(),
            max_value=(now + FUTURE_TOLERANCE).timestamp(),
        ),
        E.ExpectColumnValuesToBeUnique(column="event_id", mostly=1 - max_duplicate_rate),
    ]
    for event_type, (low, high) in VALUE_RANGES.items():
        expectations.append(
            E.ExpectColumnValuesToBeBetween(
                column="value",
                min_value=low,
                max_value=high,
                row_condition=f'event_type=="{event_type}"',
                condition_parser="pandas",
            )
        )
    return validate(frame, "events", expectations, docs_root)


def check_event_volume(
    stored_rows: int,
    distinct_events: int,
    previous_total: int | None,
    max_duplicate_rate: float = 0.01,
    max_drop: float = 0.5,
    docs_root: Path | None = None,
) -> Report:
    """Whole-table figures: duplicate event ids (stored rows vs distinct events) under a rate,
    and the event count not collapsing against the previous materialisation."""
    duplicate_rate = 1 - distinct_events / stored_rows if stored_rows else 0.0
    floor = (previous_total or 0) * (1 - max_drop)
    frame = pd.DataFrame(
        {
            "duplicate_rate": [duplicate_rate],
            "events_total": [distinct_events],
            "previous_total": [previous_total if previous_total is not None else 0],
        }
    )
    return validate(
        frame,
        "events_volume",
        [
            E.ExpectColumnValuesToBeBetween(
                column="duplicate_rate", min_value=0, max_value=max_duplicate_rate
            ),
            E.ExpectColumnValuesToBeBetween(column="events_total", min_value=max(floor, 1)),
        ],
        docs_root,
    )


def check_matrix(
    confidences: np.ndarray,
    users: int,
    items: int,
    pairs: int,
    unknown_item_ids: list[str],
    min_users: int = 10,
    min_items: int = 10,
    min_density: float = 1e-6,
    docs_root: Path | None = None,
) -> Report:
    """No negative confidences; enough users, items and density; every item id in the catalogue."""
    density = pairs / (users * items) if users and items else 0.0
    summary = pd.DataFrame(
        {
            "min_confidence": [float(confidences.min()) if len(confidences) else 0.0],
            "users": [users],
            "items": [items],
            "density": [density],
            "unknown_item_ids": [len(unknown_item_ids)],
        }
    )
    report = validate(
        summary,
        "interaction_matrix",
        [
            E.ExpectColumnValuesToBeBetween(column="min_confidence", min_value=0),
            E.ExpectColumnValuesToBeBetween(column="users", min_value=min_users),
            E.ExpectColumnValuesToBeBetween(column="items", min_value=min_items),
            E.ExpectColumnValuesToBeBetween(column="density", min_value=min_density),
            E.ExpectColumnValuesToBeBetween(column="unknown_item_ids", min_value=0, max_value=0),
        ],
        docs_root,
    )
    for outcome in report.outcomes:
        if outcome.column == "unknown_item_ids" and not outcome.success:
            outcome.sample = unknown_item_ids[:5]
    return report


def check_items(
    items: pd.DataFrame, genres: frozenset[str] = KNOWN_GENRES, docs_root: Path | None = None
) -> Report:
    """Unique ids, titles present, genres from the known vocabulary."""
    frame = items.assign(
        unknown_genres=items["genres"].map(lambda gs: ",".join(sorted(set(gs) - genres)))
    )
    return validate(
        frame,
        "items",
        [
            E.ExpectColumnValuesToBeUnique(column="item_id"),
            E.ExpectColumnValuesToNotBeNull(column="title"),
            E.ExpectColumnValueLengthsToBeBetween(column="title", min_value=1),
            E.ExpectColumnValuesToBeInSet(column="unknown_genres", value_set=[""]),
        ],
        docs_root,
    )


def check_recommendations(
    sample: pd.DataFrame,
    totals: RecommendationTotals,
    k: int,
    model_version: str,
    min_coverage: float,
    docs_root: Path | None = None,
) -> Report:
    """Rows of a user sample (see `recsys.quality.reads`): at most k per user, nothing already
    seen or disliked, items in the catalogue, scores non-increasing with rank, one model
    version. Whole version: no user over k, every active user served, enough coverage."""
    ordered = sample.sort_values(["user_id", "rank"], kind="stable")
    previous = ordered.groupby("user_id")["score"].shift(1)
    frame = ordered.assign(
        rows_for_user=ordered.groupby("user_id")["item_id"].transform("size"),
        score_rises=(ordered["score"] > previous + 1e-6).fillna(False),
    )
    summary = pd.DataFrame(
        {
            "users_with_more_than_k": [totals.users_over_k],
            "active_users_without_recommendations": [totals.active_users_without_recommendations],
            "catalogue_coverage": [totals.coverage],
        }
    )
    rows = validate(
        frame,
        "user_recommendations",
        [
            E.ExpectColumnValuesToBeBetween(column="rows_for_user", min_value=1, max_value=k),
            E.ExpectColumnValuesToBeInSet(column="already_seen", value_set=[False]),
            E.ExpectColumnValuesToBeInSet(column="in_catalogue", value_set=[True]),
            E.ExpectColumnValuesToBeInSet(column="score_rises", value_set=[False]),
            E.ExpectColumnValuesToBeInSet(column="model_version", value_set=[model_version]),
        ],
        docs_root,
    )
    whole = validate(
        summary,
        "user_recommendations_totals",
        [
            E.ExpectColumnValuesToBeBetween(column="users_with_more_than_k", max_value=0),
            E.ExpectColumnValuesToBeBetween(
                column="active_users_without_recommendations", min_value=0, max_value=0
            ),
            E.ExpectColumnValuesToBeBetween(column="catalogue_coverage", min_value=min_coverage),
        ],
        docs_root,
    )
    return Report(
        suite="user_recommendations",
        rows=rows.rows,
        outcomes=rows.outcomes + whole.outcomes,
        docs_index=whole.docs_index,
    )


def check_model(
    metrics: dict[str, float], baseline: dict[str, float], docs_root: Path | None = None
) -> Report:
    """The candidate's metrics are finite numbers and its NDCG@10 beats popularity's."""
    names = ["ndcg_at_10", "precision_at_10", "recall_at_10", "map_at_10"]
    values = {name: metrics.get(name, np.nan) for name in names}
    frame = pd.DataFrame(
        {
            **{name: [value if np.isfinite(value) else None] for name, value in values.items()},
            "lift_over_popularity": [values["ndcg_at_10"] - baseline.get("ndcg_at_10", np.inf)],
        }
    )
    return validate(
        frame,
        "model",
        [
            *(E.ExpectColumnValuesToNotBeNull(column=name) for name in names),
            *(
                E.ExpectColumnValuesToBeBetween(column=name, min_value=0, max_value=1)
                for name in names
            ),
            E.ExpectColumnValuesToBeBetween(
                column="lift_over_popularity", min_value=0, strict_min=True
            ),
        ],
        docs_root,
    )
