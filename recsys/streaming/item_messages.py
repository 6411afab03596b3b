"""Messages of the items topic into catalogue writes and dead letters.

A message is `ItemMessage` JSON: an item's fields with its `item_id` (an upsert, whole), or
`{"item_id": ..., "deleted": true}` (a tombstone). Within a batch the last message about an item
wins, as the topic's order says. A message that is not JSON or not an item is a dead letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from recsys.catalogue.payloads import ItemFields, ItemMessage
from recsys.streaming.messages import Record, shape_reason
from recsys.warehouse.dead_letters import DeadLetter


@dataclass(frozen=True)
class ItemChanges:
    upserts: list[tuple[str, ItemFields]] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    rejected: list[DeadLetter] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.upserts or self.deletions)


def decode_items(records: Sequence[Record]) -> ItemChanges:
    last: dict[str, ItemMessage] = {}
    rejected = []
    for record in records:
        try:
            message = ItemMessage.model_validate_json(record.value or b"")
        except ValidationError as error:
            rejected.append(record.letter(shape_reason(error, "not an item")))
            continue
        last.pop(message.item_id, None)  # re-inserted: dict order is the topic's order
        last[message.item_id] = message
    upserts = [
        (item_id, ItemFields(**m.model_dump(exclude={"item_id", "deleted"})))
        for item_id, m in last.items()
        if not m.deleted
    ]
    deletions = [item_id for item_id, m in last.items() if m.deleted]
    return ItemChanges(upserts, deletions, rejected)
