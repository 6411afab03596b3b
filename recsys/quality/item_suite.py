"""The catalogue's expectations: structure whatever the taxonomy, and the lifecycle fields.

`recsys.catalogue.payloads` refuses at the API whatever would fail here, so no client can stop
a retrain.
"""

from __future__ import annotations

from pathlib import Path

import great_expectations as gx
import pandas as pd

from recsys.catalogue.payloads import MAX_GENRE_LENGTH
from recsys.events.validity import BAD_ID_PATTERN, MAX_ID_LENGTH, id_problem
from recsys.quality.runner import Report, checkable, validate

E = gx.expectations


def check_items(
    items: pd.DataFrame, max_invalid_rate: float = 0.0, docs_root: Path | None = None
) -> Report:
    """Structure, whatever the taxonomy: ids follow the id rule and are unique, titles present,
    genres well-formed (see `malformed_genres`). The catalogue defines its own genres."""
    frame = items.assign(
        item_id=items["item_id"].map(checkable),
        malformed_genres=items["genres"].map(malformed_genres),
        window_backwards=_window_backwards(items),
        hidden=items.get("hidden", 0),
        deleted=items.get("deleted", 0),
    )
    mostly = {"mostly": 1 - max_invalid_rate} if max_invalid_rate > 0 else {}
    return validate(
        frame,
        "items",
        [
            E.ExpectColumnValuesToBeUnique(column="item_id"),
            E.ExpectColumnValueLengthsToBeBetween(
                column="item_id", min_value=1, max_value=MAX_ID_LENGTH, **mostly
            ),
            E.ExpectColumnValuesToNotMatchRegex(column="item_id", regex=BAD_ID_PATTERN, **mostly),
            E.ExpectColumnValuesToNotBeNull(column="title", **mostly),
            E.ExpectColumnValuesToMatchRegex(column="title", regex=r"\S", **mostly),
            E.ExpectColumnValuesToBeInSet(column="malformed_genres", value_set=[""], **mostly),
            # The lifecycle: a window that ends after it starts; flags that are flags.
            E.ExpectColumnValuesToBeInSet(column="window_backwards", value_set=[False], **mostly),
            E.ExpectColumnValuesToBeInSet(column="hidden", value_set=[0, 1]),
            E.ExpectColumnValuesToBeInSet(column="deleted", value_set=[0, 1]),
        ],
        docs_root,
    )


def _window_backwards(items: pd.DataFrame) -> pd.Series:
    """True where both window ends are set and the end is not after the start."""
    if "available_from" not in items or "available_until" not in items:  # a dataset's own items
        return pd.Series(False, index=items.index)
    start = pd.to_datetime(items["available_from"], utc=True)
    end = pd.to_datetime(items["available_until"], utc=True)
    return (start.notna() & end.notna() & (end <= start)).astype(bool)


def malformed_genres(genres) -> str:
    """The genres of one item that are not well-formed, comma-joined ('' when all are): each
    1 to 64 characters, following the id rule, none repeated within the item."""
    genres = list(genres) if genres is not None else []
    bad = [
        genre
        for genre in genres
        if not isinstance(genre, str)
        or not genre
        or len(genre) > MAX_GENRE_LENGTH
        or id_problem(genre)
    ]
    repeated = {g for g in genres if isinstance(g, str) and genres.count(g) > 1}
    return ",".join(map(repr, [*bad, *sorted(repeated)]))
