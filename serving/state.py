"""What the API holds: the warehouse handle and the snapshot of the published version."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import pandas as pd

from recsys.settings import Settings
from recsys.warehouse import tables, versions
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations
from serving.recent import RecentInteractions
from serving.snapshot import Snapshot, load_snapshot

log = logging.getLogger(__name__)


class ServingState:
    """Owns the in-memory snapshot and swaps it, whole, when a new version is published."""

    def __init__(self, settings: Settings, warehouse: Warehouse | None = None) -> None:
        self.settings = settings
        self.warehouse = warehouse or Warehouse.from_url(
            settings.warehouse_url,
            lock_timeout=settings.lock_timeout_seconds,
            linger=settings.warehouse_linger_seconds,
        )
        self.snapshot: Snapshot | None = None
        self.recent = RecentInteractions()
        self.last_warehouse_ok: float | None = None
        self._announced: str | None = None

    def start(self) -> None:
        with self.warehouse.session() as client:
            apply_migrations(client)
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> bool:
        """Load the published version if it changed; True when a new snapshot was swapped in."""
        if self.warehouse.embedded and not force:
            # Embedded: a stat of the marker file, not a warehouse session (which takes the lock).
            announced = self.warehouse.published_marker()
            if announced is None or announced == self._announced:
                return False
        with self.warehouse.session() as client:
            current = versions.published(client)
            self.last_warehouse_ok = time.monotonic()
            if current is None:
                return False
            if self.snapshot and current.model_version == self.snapshot.model_version:
                self._announced = current.model_version
                return False
            started = time.perf_counter()
            snapshot = load_snapshot(client, current)
        self.snapshot = snapshot  # one reference assignment: requests see old or new, never both
        self._announced = snapshot.model_version
        self.recent.forget_before(snapshot.events_ingested_until)
        log.info(
            "serving %s (%d users, %d items) loaded in %.2f s",
            snapshot.model_version,
            len(snapshot.recommendations),
            len(snapshot.item_ids),
            time.perf_counter() - started,
        )
        return True

    def store_events(self, rows: Sequence[dict]) -> int:
        """Insert events durably; returns only after the warehouse acknowledged the insert."""
        frame = pd.DataFrame.from_records(rows, columns=list(rows[0]))
        with self.warehouse.session() as client:
            stored = tables.insert_events(client, frame)
        self.last_warehouse_ok = time.monotonic()
        self.recent.add((row["user_id"], row["item_id"]) for row in rows)
        return stored

    def warehouse_reachable(self, within_seconds: float = 30.0) -> bool:
        """True if the warehouse answered recently, else if it answers a ping now."""
        if self.last_warehouse_ok and time.monotonic() - self.last_warehouse_ok < within_seconds:
            return True
        try:
            with self.warehouse.session(timeout=5.0) as client:
                client.query("SELECT 1")
        except Exception:  # any failure to reach it means "not ready"; the probe says why in logs
            log.exception("warehouse ping failed")
            return False
        self.last_warehouse_ok = time.monotonic()
        return True
