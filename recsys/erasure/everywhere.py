"""One erasure across every place user data lives (`recsys.erasure.places`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from recsys.erasure.places import Place, erase_files
from recsys.erasure.rows import drop_leftovers, erase_rows
from recsys.warehouse.connection import Warehouse

WAREHOUSE = "warehouse (every table with a user_id column, dead letters, old parts)"


@dataclass
class Erased:
    """What one erasure did. `removed` is for logs of the pipeline's own re-erasures and for
    tests; the API's answer leaves it out (it would tell a known id from an unknown one)."""

    removed: dict[str, int] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)
    not_reached: list[str] = field(default_factory=list)


def erase_everywhere(warehouse: Warehouse, places: list[Place], user_id: str) -> Erased:
    """Rows first (then what the engine leaves on disk), then every file place."""
    with warehouse.session() as client:
        removed = erase_rows(client, user_id)
        if warehouse.embedded:
            removed["leftovers"] = drop_leftovers(client)
    from_files, searched, not_reached = erase_files(places, user_id)
    return Erased({**removed, **from_files}, [WAREHOUSE, *searched], not_reached)
