"""The catalogue writes made anywhere (this API, another API process, the items topic's
consumer), read when the change feed says the catalogue changed (`recsys.warehouse.change_feed`):
the rows written since the newest one seen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clickhouse_connect.driver.client import Client

from recsys.warehouse import item_reads
from recsys.warehouse.connection import Warehouse

# Writes overlap: an insert in flight while we read may carry an earlier `updated_at` than the
# newest we saw. Rows read again are compared and dropped if unchanged.
OVERLAP = timedelta(seconds=5)
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class CatalogueFeed:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._since = BEGINNING

    def start(self, client: Client) -> None:
        """Everything up to now is in the catalogue just loaded."""
        newest, _ = item_reads.write_signature(client)
        self._since = _aware(newest) or BEGINNING

    def changes(self, client: Client) -> list[tuple]:
        """Catalogue rows written since the last call (with some overlap)."""
        rows, newest = item_reads.changed_rows(client, self._since - OVERLAP)
        if newest is not None:
            self._since = max(self._since, _aware(newest))
        return rows


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
