"""The event vocabulary shared by the generator, the loaders, the pipeline and the API."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "view_start",
    "view_complete",
    "rating",
    "like",
    "dislike",
    "add_to_list",
    "search",
)

# Allowed `value` per event type (inclusive). Ratings carry their stars; other events may carry a
# progress or strength in [0, 1] (view progress, search click position score...) or nothing.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "rating": (0.5, 5.0),
    **{event_type: (0.0, 1.0) for event_type in EVENT_TYPES if event_type != "rating"},
}

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "user_id",
    "item_id",
    "event_type",
    "value",
    "timestamp",
    "source",
)

ITEM_COLUMNS: tuple[str, ...] = ("item_id", "title", "genres", "tags", "year")
