"""Erasing a user from the API: every place user data lives that this process reaches
(`recsys.erasure.places`, found from the same configuration the writers use), and the caches
of every serving process (this one at once, others at their next poll of the records).

The algorithms are `recsys.erasure`; this module wires them to the serving state.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from recsys.erasure import records
from recsys.erasure.everywhere import Erased, erase_everywhere
from recsys.erasure.keys import ErasureKeys, erasure_keys
from recsys.erasure.places import FileRoots, file_places
from recsys.warehouse.change_feed import ERASURES
from serving.state import ServingState

log = logging.getLogger(__name__)
# Erasures recorded while we read may carry an earlier time than the newest we saw.
OVERLAP = timedelta(seconds=5)
CACHES = "serving caches (this process now, the others at their next poll)"


def erase_user(state: ServingState, user_id: str) -> tuple[Erased, str, str]:
    """Erase the user everywhere this process reaches: (what was done, the receipt, its key
    id). A user the system never knew is erased the same way and gets the same answer."""
    started = time.perf_counter()
    keys = erasure_keys(state.settings)
    state.online.impressions.flush()  # lists queued before now are erased with the rest
    places = file_places(FileRoots.of(state.settings))
    erased = erase_everywhere(state.warehouse, places, user_id)
    erased.removed["caches"] = state.forget_users({user_id})
    erased.searched.append(CACHES)
    with state.warehouse.session() as client:
        receipt = records.record(client, keys, user_id)
    state.warehouse.notify_changed(ERASURES)
    # Neither the id nor the counts (they would tell a known user from an unknown one).
    log.info("erasure done in %.2f s", time.perf_counter() - started)
    return erased, receipt, keys.key_id


class ErasureFeed:
    """Erasures made by other processes since the last look, read when the change feed says
    there were some (`ServingState.subscribe`)."""

    def __init__(self, state: ServingState, keys: ErasureKeys | None = None) -> None:
        self.state = state
        self.keys = keys or erasure_keys(state.settings)
        self._since = datetime.now(UTC)

    def poll(self) -> int:
        with self.state.warehouse.session() as client:
            found = records.erasures_since(client, self._since - OVERLAP)
        if not found:
            return 0
        newest = max(each.erased_at.replace(tzinfo=UTC) for each in found)
        self._since = max(self._since, newest)
        held = self.state.held_users()
        return self.state.forget_users(records.matching(held, found, self.keys))
