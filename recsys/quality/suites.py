"""The expectations each table must meet, and the frames they are checked on (the catalogue's
own in `item_suite`).

Checks that are not a plain column rule (already-seen items, scores that rise down a list,
users left without recommendations) become derived columns first, so GX reports them like
any other expectation: expected, observed, failing rows and a sample.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import great_expectations as gx
import numpy as np
import pandas as pd

from recsys.events.validity import (
    BAD_ID_PATTERN,
    ID_FIELDS,
    MAX_ID_LENGTH,
    TOLERANCE_MS,
    millis_of,
    to_millis,
    value_bounds,
)
from recsys.events.vocabulary import EVENT_TYPES
from recsys.quality.reads import RecommendationTotals
from recsys.quality.runner import Report, checkable, validate

E = gx.expectations


def check_events(
    events: pd.DataFrame,
    epoch: datetime,
    now: datetime | None = None,
    max_invalid_rate: float = 0.01,
    docs_root: Path | None = None,
    row_indexes: bool = False,
) -> Report:
    """The event rule of `recsys.events.validity` as expectations, each tolerating
    `max_invalid_rate` of failing rows (GX `mostly`): a few bad rows are quarantined, a
    corrupted batch fails.

    `events` has the stored columns; `ingested_at` (when each row was accepted) defaults to
    `now`. A missing value is NaN or None; a stored NaN must come as +inf (see
    `recsys.quality.reads.newest_events`), which the range rule rejects as it should.
    """
    accepted = events["ingested_at"] if "ingested_at" in events else (now or datetime.now(UTC))
    # Rates are over all rows: GX's `mostly` counts only non-null values, and most events
    # carry no value. So each row gets its type's bounds, and a missing value stands in as
    # the lower bound (allowed) except for ratings, where it stays missing (not allowed).
    value = pd.to_numeric(events["value"], errors="coerce").astype(float)
    low, high = value_bounds(events["event_type"].astype(object))
    if not isinstance(accepted, pd.Series):
        accepted = pd.Series(accepted, index=events.index)
    frame = events.assign(
        **{name: events[name].map(checkable) for name in ID_FIELDS},
        timestamp_ms=millis_of(events["timestamp"]),
        ms_after_acceptance=lambda f: f["timestamp_ms"] - millis_of(accepted),
        value_low=low,
        value_high=high,
        value_or_default=value.where(value.notna() | (events["event_type"] == "rating"), low),
    )
    mostly = {"mostly": 1 - max_invalid_rate} if max_invalid_rate > 0 else {}
    expectations = []
    for name in ID_FIELDS:
        expectations += [
            E.ExpectColumnValuesToNotBeNull(column=name, **mostly),
            E.ExpectColumnValueLengthsToBeBetween(
                column=name, min_value=1, max_value=MAX_ID_LENGTH, **mostly
            ),
            E.ExpectColumnValuesToNotMatchRegex(column=name, regex=BAD_ID_PATTERN, **mostly),
        ]
    expectations += [
        E.ExpectColumnValuesToBeInSet(column="event_type", value_set=list(EVENT_TYPES), **mostly),
        E.ExpectColumnValuesToNotBeNull(column="value_or_default", **mostly),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="value_or_default", column_B="value_low", or_equal=True, **mostly
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="value_high", column_B="value_or_default", or_equal=True, **mostly
        ),
        E.ExpectColumnValuesToBeBetween(
            column="timestamp_ms", min_value=to_millis(epoch), **mostly
        ),
        E.ExpectColumnValuesToBeBetween(
            column="ms_after_acceptance", max_value=TOLERANCE_MS, **mostly
        ),
    ]
    return validate(frame, "events", expectations, docs_root, row_indexes=row_indexes)


def check_event_volume(
    events_total: int,
    previous_total: int | None,
    max_drop: float = 0.5,
    docs_root: Path | None = None,
) -> Report:
    """The event count, as the table reads deduplicated (an event is its `(user_id, event_id)`,
    so a retried batch is the same events), is not empty and did not collapse against the
    previous materialisation."""
    floor = (previous_total or 0) * (1 - max_drop)
    frame = pd.DataFrame(
        {
            "events_total": [events_total],
            "previous_total": [previous_total if previous_total is not None else 0],
        }
    )
    return validate(
        frame,
        "events_volume",
        [E.ExpectColumnValuesToBeBetween(column="events_total", min_value=max(floor, 1))],
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
