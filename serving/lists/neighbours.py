"""An item's neighbour list as served: the version's list, with the items added since it was
trained entering where their content puts them (`recsys.foldin.new_items`)."""

from __future__ import annotations

from recsys.foldin.new_items import join_neighbours
from serving.held.snapshot import Snapshot


def neighbour_list(snapshot: Snapshot, item_id: str) -> tuple[str, list[tuple[str, float]]]:
    """(source, neighbours best first) of an item: the version's list with new items entering
    it, or, for an item the version lacks, its nearest items by content."""
    listed = snapshot.reads.similar(item_id)
    new_items = snapshot.new_items
    if listed is None and item_id in new_items.similar:
        return "content", new_items.similar[item_id]
    source, neighbours = listed or (snapshot.algorithm, [])
    joins = new_items.joins.get(item_id)
    return source, join_neighbours(neighbours, joins) if joins else neighbours
