"""Item writes from the API: store, tell the other processes, apply here at once.

The process that makes a change serves it from its next request; others see it at their next
poll (the marker beside an embedded warehouse, or the table against a server).
"""

from __future__ import annotations

from recsys.catalogue.payloads import ItemFields
from recsys.warehouse import item_reads, item_writes
from serving.held.catalogue_view import ItemInfo
from serving.state import ServingState


def put_item(state: ServingState, item_id: str, fields: ItemFields) -> ItemInfo:
    """Add or replace an item whole (re-adds a deleted one)."""
    with state.warehouse.session() as client:
        item_writes.upsert(client, [(item_id, fields)])
        rows = item_reads.rows_of(client, [item_id])
    _announce(state, rows)
    return ItemInfo.of(*rows[0])


def delete_item(state: ServingState, item_id: str) -> bool:
    """Tombstone an item; False if the catalogue never had it (or it was deleted already)."""
    with state.warehouse.session() as client:
        deleted = item_writes.tombstone(client, [item_id])
        rows = item_reads.rows_of(client, deleted) if deleted else []
    _announce(state, rows)
    return bool(deleted)


def _announce(state: ServingState, rows: list[tuple]) -> None:
    if rows:
        state.warehouse.notify_changed("catalogue")
        state.apply_catalogue_rows(rows)
