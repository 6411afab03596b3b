"""Small event rows the warehouse tests insert."""

from datetime import UTC, datetime

import pandas as pd

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def events_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "event_id": f"e{n}",
                "user_id": user,
                "item_id": item,
                "event_type": event_type,
                "value": value,
                "timestamp": T0 + pd.Timedelta(days=day),
                "source": "test",
            }
            for n, (user, item, event_type, value, day) in enumerate(rows)
        ]
    )


EVENTS = [
    ("u1", "a", "view_start", None, 0),
    ("u1", "a", "view_complete", None, 1),
    ("u1", "b", "rating", 4.0, 2),
    ("u1", "c", "like", None, 3),
    ("u1", "c", "dislike", None, 4),
    ("u2", "a", "like", None, 30),
]


def like_event(event_id: str, user: str = "u1", item: str = "i1") -> dict:
    return {
        "event_id": event_id,
        "user_id": user,
        "item_id": item,
        "event_type": "like",
        "value": None,
        "timestamp": datetime(2025, 1, 1, tzinfo=UTC),
        "source": "test",
    }
