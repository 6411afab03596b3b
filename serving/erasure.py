"""Erasing a user from the API: the warehouse, the pipeline's files this process can reach, and
the caches of every serving process (this one at once, others at their next poll).

The algorithm is `recsys.erasure`; this module decides which stores this process reaches.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from recsys import erasure
from serving.state import ServingState

log = logging.getLogger(__name__)
KIND = "erasures"
# Erasures recorded while we read may carry an earlier time than the newest we saw.
OVERLAP = timedelta(seconds=5)


def erase_user(state: ServingState, user_id: str) -> tuple[dict[str, int], list[str]]:
    """Erase the user everywhere this process reaches: (removed per store, what it could not
    reach and why)."""
    settings = state.settings
    started = time.perf_counter()
    salt = erasure.new_salt()
    not_reached = []
    if settings.tracking_is_server:
        not_reached.append(
            "mlflow: model artefacts (each run's model/model.npz holds every trained user's "
            "id) live on the MLflow server's artefact store, which this process cannot reach: "
            "delete those of runs trained before this erasure there"
        )
    files = erasure.FileStores(
        stored_values=settings.dagster_home / "storage",
        quality_dir=settings.quality_dir,
        model_artefacts=None if settings.tracking_is_server else settings.mlflow_artifacts_dir,
    )
    state.online.impressions.flush()  # lists queued before now are erased with the rest
    removed = erasure.erase_user(state.warehouse, user_id, files, salt)
    removed["caches"] = state.forget_users({user_id})
    with state.warehouse.session() as client:
        erasure.record(client, salt, user_id, removed)
    state.warehouse.notify_changed(KIND)
    log.info(
        "erased a user in %.2f s: %s", time.perf_counter() - started, removed
    )  # never the id itself: logs are kept
    return removed, not_reached


class ErasureFeed:
    """Erasures made by other processes since the last look (embedded: when the marker moved;
    server: every poll, a read of the newest rows)."""

    def __init__(self, state: ServingState) -> None:
        self.state = state
        self._stamp = state.warehouse.change_stamp(KIND)
        self._since = datetime.now(UTC)

    def poll(self) -> int:
        warehouse = self.state.warehouse
        if warehouse.embedded and warehouse.change_stamp(KIND) == self._stamp:
            return 0
        self._stamp = warehouse.change_stamp(KIND)
        with warehouse.session() as client:
            found = erasure.erasures_since(client, self._since - OVERLAP)
        if not found:
            return 0
        self._since = max(self._since, max(at.replace(tzinfo=UTC) for _, _, at in found))
        held = self.state.held_users()
        return self.state.forget_users(erasure.matching(held, found))
