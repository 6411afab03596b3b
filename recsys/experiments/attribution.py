"""What counts as a click and a conversion, and which list an engagement is owed to.

An engagement is attributed to one impression (a list shown, and the item's place in it):
- the list named by the event's `request_id`, when it showed the item within the window;
- otherwise the user's last list that showed the item before the event, within the window
  (last touch).
An impression is *clicked* when an attributed click event names it, *converted* when an
attributed conversion does; several events on one impression count once.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from clickhouse_connect.driver.client import Client

CLICK_EVENTS = ("view_start", "like", "add_to_list")
CONVERSION_EVENTS = ("view_complete",)
ENGAGEMENT_EVENTS = CLICK_EVENTS + CONVERSION_EVENTS

# Per user, model version and variant: impressions (items shown), clicked and converted ones.
_OUTCOMES_BY_USER = """
WITH
shown AS (
    SELECT request_id, user_id, variant, model_version, shown_at, item_id, position
    FROM impressions
    ARRAY JOIN items AS item_id, arrayEnumerate(items) AS position
    WHERE experiment = {experiment:String} AND shown_at >= {since:DateTime64(3, 'UTC')}
),
engaged AS (
    SELECT user_id, item_id, event_type, timestamp, request_id
    FROM events FINAL
    WHERE event_type IN {engagements:Array(String)}
      AND timestamp >= {since:DateTime64(3, 'UTC')}
),
by_request AS (
    SELECT s.request_id AS request_id, s.position AS position, e.event_type AS event_type
    FROM engaged AS e
    INNER JOIN shown AS s ON e.request_id = s.request_id AND e.item_id = s.item_id
    WHERE e.request_id != ''
      AND abs(dateDiff('millisecond', s.shown_at, e.timestamp)) <= {window_ms:Int64}
),
by_last_touch AS (
    SELECT s.request_id AS request_id, s.position AS position, e.event_type AS event_type
    FROM (
        SELECT * FROM engaged
        WHERE request_id = '' OR request_id NOT IN (
            SELECT request_id FROM impressions WHERE shown_at >= {since:DateTime64(3, 'UTC')}
        )
    ) AS e
    ASOF INNER JOIN shown AS s
        ON e.user_id = s.user_id AND e.item_id = s.item_id AND e.timestamp >= s.shown_at
    WHERE dateDiff('millisecond', s.shown_at, e.timestamp) <= {window_ms:Int64}
),
outcomes AS (
    SELECT request_id, position,
           max(event_type IN {clicks:Array(String)}) AS clicked,
           max(event_type IN {conversions:Array(String)}) AS converted
    FROM (SELECT * FROM by_request UNION ALL SELECT * FROM by_last_touch)
    GROUP BY request_id, position
)
SELECT s.user_id AS user_id, s.variant AS variant, s.model_version AS model_version,
       count() AS impressions, sum(o.clicked) AS clicks, sum(o.converted) AS conversions
FROM shown AS s
LEFT JOIN outcomes AS o ON s.request_id = o.request_id AND s.position = o.position
GROUP BY user_id, variant, model_version
"""

OUTCOME_COLUMNS = ("user_id", "variant", "model_version", "impressions", "clicks", "conversions")


def outcomes_by_user(
    client: Client, experiment: str, since: datetime, window_hours: float
) -> pd.DataFrame:
    """One row per (user, variant, model version) exposed in the experiment since `since`."""
    result = client.query(
        _OUTCOMES_BY_USER,
        parameters={
            "experiment": experiment,
            "since": since,
            "window_ms": int(window_hours * 3_600_000),
            "engagements": list(ENGAGEMENT_EVENTS),
            "clicks": list(CLICK_EVENTS),
            "conversions": list(CONVERSION_EVENTS),
        },
    )
    frame = pd.DataFrame(result.result_rows, columns=list(OUTCOME_COLUMNS))
    for column in ("impressions", "clicks", "conversions"):
        frame[column] = frame[column].astype("int64")
    return frame
