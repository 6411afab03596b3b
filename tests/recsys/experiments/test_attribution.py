"""Attribution against a real embedded warehouse: by request id, by last touch, within the
window, one click per impression however many events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from recsys.experiments.attribution import outcomes_by_user
from recsys.warehouse.connection import Warehouse

IMPRESSION_COLUMNS = [
    "request_id", "user_id", "surface", "items", "model_version", "experiment", "variant",
    "shown_at",
]  # fmt: skip
EVENT_COLUMNS = [
    "event_id", "user_id", "item_id", "event_type", "value", "timestamp", "source", "request_id"
]  # fmt: skip


def test_engagements_are_credited_to_the_list_they_came_from(warehouse: Warehouse):
    now = datetime.now(UTC)
    ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
    with warehouse.session() as client:
        client.insert(
            "impressions",
            [
                ["r1", "u1", "recommendations", ["a", "b", "c"], "v1", "exp", "A", ago(minutes=10)],
                ["r2", "u1", "recommendations", ["b", "a"], "v2", "exp", "A", ago(minutes=5)],
                ["r3", "u2", "recommendations", ["a", "b"], "v1", "exp", "B", ago(minutes=5)],
                ["r4", "u3", "recommendations", ["a"], "v1", "exp", "B", ago(hours=30)],
                ["r5", "u4", "recommendations", ["a"], "v1", "other", "A", ago(minutes=5)],
            ],
            column_names=IMPRESSION_COLUMNS,
        )
        client.insert(
            "events",
            [
                # With its request id: r1's "a", although r2 showed "a" later (not last touch).
                ["e1", "u1", "a", "view_start", None, ago(minutes=1), "api", "r1"],
                # Without: the last list that showed "b" before the event, r2.
                ["e2", "u1", "b", "like", None, ago(minutes=1), "api", ""],
                ["e3", "u1", "b", "view_complete", None, ago(minutes=1), "api", ""],
                ["e4", "u1", "b", "add_to_list", None, ago(minutes=1), "api", ""],  # same one
                # Before anything showed it: nobody's credit.
                ["e5", "u2", "b", "view_start", None, ago(minutes=6), "api", ""],
                # Past the 24-hour window.
                ["e6", "u3", "a", "view_start", None, now, "api", ""],
                # Not an engagement.
                ["e7", "u2", "a", "dislike", None, ago(minutes=1), "api", ""],
                # Another experiment's list: credited there, not here.
                ["e8", "u4", "a", "view_start", None, ago(minutes=1), "api", "r5"],
            ],
            column_names=EVENT_COLUMNS,
        )
        frame = outcomes_by_user(client, "exp", ago(days=3), window_hours=24)
    rows = {
        (r.user_id, r.model_version): (r.impressions, r.clicks, r.conversions)
        for r in frame.itertuples()
    }
    assert rows == {
        ("u1", "v1"): (3, 1, 0),  # r1: "a" clicked by id
        ("u1", "v2"): (2, 1, 1),  # r2: "b" liked, completed, listed: one click, one conversion
        ("u2", "v1"): (2, 0, 0),
        ("u3", "v1"): (1, 0, 0),
    }
