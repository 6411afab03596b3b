"""Reads of the `impressions` table the API serves with: items rarely shown lately (for
exploration), and how often a user was shown each item (for demotion)."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from recsys.catalogue.lifecycle import SERVABLE_SQL
from recsys.warehouse.item_reads import SERVABLE


def rarely_shown(client: Client, limit: int, days: float) -> list[str]:
    """The servable items shown least in the last `days` (never shown first); ties broken by
    a hash of the id, so the pool is not the alphabet's start."""
    rows = client.query(
        f"""
        SELECT item_id
        FROM (SELECT item_id FROM items FINAL WHERE {SERVABLE} AND {SERVABLE_SQL}) AS servable
        LEFT JOIN (
            SELECT item_id, count() AS shown FROM impressions
            ARRAY JOIN items AS item_id
            WHERE shown_at >= now64(3) - toIntervalSecond({{seconds:Int64}})
            GROUP BY item_id
        ) AS counted USING (item_id)
        ORDER BY shown, cityHash64(item_id)
        LIMIT {{limit:UInt32}}
        """,
        parameters={"seconds": int(days * 86_400), "limit": limit},
    ).result_rows
    return [item_id for (item_id,) in rows]


def shown_to_user(client: Client, user_id: str, days: float) -> dict[str, int]:
    """How many lists in the last `days` showed the user each item."""
    rows = client.query(
        """
        SELECT item_id, count() FROM impressions ARRAY JOIN items AS item_id
        WHERE user_id = {user:String}
          AND shown_at >= now64(3) - toIntervalSecond({seconds:Int64})
        GROUP BY item_id
        """,
        parameters={"user": user_id, "seconds": int(days * 86_400)},
    ).result_rows
    return {item_id: int(n) for item_id, n in rows}
