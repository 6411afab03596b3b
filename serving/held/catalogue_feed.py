"""How a serving process learns of catalogue writes made anywhere (its own API, another API
process, the items topic's consumer).

Embedded: writers touch a marker beside the warehouse (`Warehouse.notify_changed`), so a poll is
a file read and opens the engine only when something changed. Server: every poll asks for rows
written since the newest one seen; the query reads one column's max when nothing changed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clickhouse_connect.driver.client import Client

from recsys.warehouse import item_reads
from recsys.warehouse.connection import Warehouse

KIND = "catalogue"
# Writes overlap: an insert in flight while we read may carry an earlier `updated_at` than the
# newest we saw. Rows read again are compared and dropped if unchanged.
OVERLAP = timedelta(seconds=5)
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class CatalogueFeed:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._stamp: str | None = None
        self._since = BEGINNING
        self._signature: tuple | None = None

    def start(self, client: Client) -> None:
        """Everything up to now is in the catalogue just loaded."""
        self._stamp = self.warehouse.change_stamp(KIND)
        self._signature = item_reads.write_signature(client)
        self._since = _aware(self._signature[0]) or BEGINNING

    def due(self) -> bool:
        """Embedded: the marker moved. Server: always (the query is the check)."""
        if self.warehouse.embedded:
            return self.warehouse.change_stamp(KIND) != self._stamp
        return True

    def changes(self, client: Client) -> list[tuple]:
        """Catalogue rows written since the last call (with some overlap)."""
        stamp = self.warehouse.change_stamp(KIND)  # before reading: a later write moves it again
        if not self.warehouse.embedded:
            signature = item_reads.write_signature(client)
            if signature == self._signature:
                return []
            self._signature = signature
        rows, newest = item_reads.changed_rows(client, self._since - OVERLAP)
        if newest is not None:
            self._since = max(self._since, _aware(newest))
        self._stamp = stamp
        return rows


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
