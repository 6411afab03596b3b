"""When an item may be shown: the rule, once, in Python and in SQL.

An item is servable unless it is deleted (a tombstone), hidden by an editor, not yet available
(`available_from` in the future) or expired (`available_until` reached). Either end of the window
may be open. Unservable items stay in the event log and in training; they are never
recommended, listed, searched or accepted as the subject of a new event.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

# The same rule as a ClickHouse condition over `items` (read with FINAL).
SERVABLE_SQL = (
    "deleted = 0 AND hidden = 0 "
    "AND (available_from IS NULL OR available_from <= now64(3)) "
    "AND (available_until IS NULL OR available_until > now64(3))"
)
# Rows with anything but the defaults: the only ones an availability check needs to hold.
HAS_LIFECYCLE_SQL = (
    "deleted != 0 OR hidden != 0 OR available_from IS NOT NULL OR available_until IS NOT NULL"
)


@dataclass(frozen=True)
class Lifecycle:
    available_from: datetime | None = None
    available_until: datetime | None = None
    hidden: bool = False
    deleted: bool = False

    @property
    def ordinary(self) -> bool:
        """Always servable: nothing about its life was ever set."""
        return self == ALWAYS

    def problem(self, now: datetime) -> str | None:
        """Why the item may not be shown at `now` (a phrase after "item X is"), or None."""
        if self.deleted:
            return "deleted"
        if self.hidden:
            return "hidden"
        if self.available_from is not None and now < self.available_from:
            return f"not available until {self.available_from.isoformat()}"
        if self.available_until is not None and now >= self.available_until:
            return f"expired at {self.available_until.isoformat()}"
        return None

    def boundaries(self) -> tuple[float, ...]:
        """The moments (epoch seconds) at which the verdict can change without any write."""
        return tuple(
            moment.timestamp()
            for moment in (self.available_from, self.available_until)
            if moment is not None
        )


ALWAYS = Lifecycle()


def utc(moment: datetime | None) -> datetime | None:
    """Timezone-aware UTC (the warehouse gives naive UTC, clients may give any offset)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_rows(rows: Iterable[tuple]) -> dict[str, Lifecycle]:
    """Lifecycles from rows of (item_id, available_from, available_until, hidden, deleted)."""
    return {
        item_id: Lifecycle(utc(start), utc(end), bool(hidden), bool(deleted))
        for item_id, start, end, hidden, deleted in rows
    }


class Availability:
    """Which items may not be shown now, for filtering every list.

    Holds only the items with a lifecycle (usually few of many); the set of unservable ones is
    computed once and kept until the next window boundary passes or a change arrives, so the
    hot path pays one clock read and a comparison.
    """

    def __init__(self, lifecycles: Mapping[str, Lifecycle]) -> None:
        self._lifecycles = {i: life for i, life in lifecycles.items() if not life.ordinary}
        self._boundaries = sorted(
            {b for life in self._lifecycles.values() for b in life.boundaries()}
        )
        self._guard = threading.Lock()
        self._blocked: frozenset[str] = frozenset()
        # The verdict holds for now in [valid_from, valid_until); empty until computed.
        self._valid_from, self._valid_until = float("inf"), float("-inf")

    def with_changes(self, changes: Iterable[tuple[str, Lifecycle]]) -> Availability:
        """A new Availability with these items' lifecycles replaced (the old one unchanged)."""
        merged = dict(self._lifecycles)
        for item_id, life in changes:
            merged[item_id] = life
        return Availability(merged)

    def problem(self, item_id: str, now: datetime | None = None) -> str | None:
        life = self._lifecycles.get(item_id)
        if life is None:
            return None
        return life.problem(now or datetime.now(UTC))

    def blocked(self, now: float | None = None) -> frozenset[str]:
        """The ids that may not be shown at `now` (epoch seconds; default the clock)."""
        now = time.time() if now is None else now
        if self._valid_from <= now < self._valid_until:
            return self._blocked
        with self._guard:
            at = datetime.fromtimestamp(now, UTC)
            self._blocked = frozenset(
                item_id for item_id, life in self._lifecycles.items() if life.problem(at)
            )
            index = bisect.bisect_right(self._boundaries, now)
            self._valid_from = self._boundaries[index - 1] if index else float("-inf")
            self._valid_until = (
                self._boundaries[index] if index < len(self._boundaries) else float("inf")
            )
            return self._blocked

    def __len__(self) -> int:
        return len(self._lifecycles)
