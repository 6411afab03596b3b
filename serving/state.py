"""What the API holds: the warehouse handle, the served snapshot, the catalogue, fresh users."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence

import pandas as pd
from clickhouse_connect.driver.client import Client

from recsys.settings import Settings
from recsys.warehouse import ingestion, source_tables, versions
from recsys.warehouse.change_feed import CATALOGUE, EXPERIMENTS, KINDS, PUBLISHED
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.faults import unavailable_reason
from recsys.warehouse.migrations import apply_migrations
from recsys.warehouse.roles import CHAMPION
from serving.held.caches import UserCache
from serving.held.catalogue_feed import CatalogueFeed
from serving.held.catalogue_view import Catalogue, ItemInfo, load_catalogue
from serving.held.freshness import FreshUsers
from serving.held.snapshot import Snapshot, load_snapshot
from serving.measurement.instruments import Online
from serving.measurement.prometheus import ApiMetrics

log = logging.getLogger(__name__)
# Decides, inside a write's session, which rows to write: (rows, repeats left out).
Settle = Callable[[Client, list[dict]], tuple[list[dict], int]]

# Embedded mode: the change feed announces publications without opening the engine, and this
# process accepts the users' events itself, so the sweep for events other processes wrote runs
# less often there (each sweep takes the warehouse's lock from the pipeline for a moment).
EMBEDDED_SWEEP_SECONDS = 30.0
# Sweeps overlap: an insert that was in flight during the last sweep may carry an earlier
# ingestion time than what that sweep saw. Re-finding a known event changes nothing.
SWEEP_OVERLAP = pd.Timedelta(seconds=5)


class ServingState:
    """Owns the snapshot of the version serving in each role and swaps them, whole, when a new
    version is published; holds the catalogue beside them (reloaded at each publication)."""

    def __init__(self, settings: Settings, warehouse: Warehouse | None = None) -> None:
        self.settings = settings
        self.warehouse = warehouse or Warehouse.from_url(
            settings.warehouse_url,
            lock_timeout=settings.lock_timeout_seconds,
            linger=settings.warehouse_linger_seconds,
            cluster=settings.clickhouse_cluster,
        )
        self.served: dict[str, Snapshot] = {}  # role -> snapshot, replaced whole
        self.catalogue: Catalogue | None = None
        self.catalogue_feed = CatalogueFeed(self.warehouse)
        # Bumped with every catalogue change: cached fold-in rankings from before are stale.
        self.catalogue_generation = 0
        self._catalogue_guard = threading.Lock()  # one writer of catalogue and snapshots
        self.fresh = FreshUsers(settings.api_fresh_users_max)
        self.fold_ins = UserCache(settings.api_user_cache_size)  # fold-in rankings
        # users' histories read for fold-in, filters, explanations
        self.histories = UserCache(settings.api_user_cache_size)
        self.metrics = ApiMetrics()  # replaced by the app's own registry in its lifespan
        self.last_warehouse_ok: float | None = None
        self.write_failure: str | None = None  # why the last event write failed, until one works
        self._last_write_probe = 0.0
        self._migrated = False
        # What other processes changed: one feed, one look per poll; kind -> what reacts to it
        # (publications are this class's own: `refresh`).
        self.changes = self.warehouse.changes()
        self._subscribers: dict[str, list[Callable[[], object]]] = {}
        self.subscribe(CATALOGUE, self.refresh_catalogue)
        self.online = Online(self.warehouse, settings)
        self.subscribe(EXPERIMENTS, self.online.experiments.load)
        self._swept_until: pd.Timestamp | None = None
        self._last_sweep = 0.0

    def start(self) -> None:
        """Load the published version. A warehouse that is down does not stop the API from
        starting: it answers 503 (readiness too) and the poll loop keeps trying."""
        self.online.start()
        try:
            self.changes.mark()  # before loading: a change made during the load is seen next
            self.refresh()
        except Exception as error:
            reason = unavailable_reason(error)
            if reason is None:
                raise
            log.warning("warehouse unavailable at start (%s); retrying in the background", reason)
            return
        self._poll_online()

    def subscribe(self, kind: str, react: Callable[[], object]) -> None:
        """Call `react()` at each poll after which the change feed says `kind` changed."""
        self._subscribers.setdefault(kind, []).append(react)

    def poll(self) -> bool:
        """Periodic check: one look at the change feed (a published version, the catalogue,
        an erasure, an experiment, changed anywhere), each change's subscribers, and the sweep
        for new events from other writers. A reaction that fails is retried at the next poll."""
        changed = self.changes.changed()
        sweep_every = EMBEDDED_SWEEP_SECONDS if self.warehouse.embedded else 0.0
        due = time.monotonic() - self._last_sweep >= sweep_every
        swapped, pending = False, set(changed)
        try:
            if due or PUBLISHED in pending or not self._migrated:
                swapped = self.refresh()
            pending.discard(PUBLISHED)
            for kind in KINDS:  # in a fixed order: erasures after the snapshots they clean
                if kind in pending:
                    for react in self._subscribers.get(kind, []):
                        react()
                    pending.discard(kind)
        except Exception:
            for kind in pending:
                self.changes.again(kind)
            raise
        self._poll_online()
        return swapped

    def _poll_online(self) -> None:
        """Experiments and exposure: measuring must never keep the API from serving, nor the
        poll from its other work (erasures come after it)."""
        try:
            self.online.poll()
        except Exception:
            log.exception("reading experiments or exposure failed; retrying at the next poll")

    def refresh_catalogue(self) -> int:
        """Apply catalogue writes made by any process since the last look; returns how many
        items changed."""
        if self.catalogue is None:
            return 0
        with self.warehouse.session() as client:
            rows = self.catalogue_feed.changes(client)
        return self.apply_catalogue_rows(rows)

    def apply_catalogue_rows(self, rows: Sequence[tuple]) -> int:
        """Swap in a catalogue (and snapshots' new items) with these rows of
        `item_reads.ITEM_COLUMNS` applied; rows equal to what is held change nothing."""
        with self._catalogue_guard:
            catalogue = self.catalogue
            if catalogue is None:
                return 0
            changed = [
                (info, row)
                for info, row in ((ItemInfo.of(*row), row) for row in rows)
                if catalogue.record(info.item_id) != info
            ]
            if not changed:
                return 0
            new_rows = {info.item_id: None if info.life.deleted else row for info, row in changed}
            self.served = {
                role: snapshot.with_new_items(new_rows) for role, snapshot in self.served.items()
            }
            self.catalogue = catalogue.with_changes(info for info, _ in changed)
            self.catalogue_generation += 1
        log.info("catalogue: %d item(s) changed", len(changed))
        return len(changed)

    @property
    def snapshot(self) -> Snapshot | None:
        """The champion's snapshot: what every request is served from today."""
        return self.served.get(CHAMPION)

    def refresh(self) -> bool:
        """Load the versions whose role changed hands; True when new snapshots were swapped in.
        (The poll calls it when the change feed announced a publication, or the sweep is due.)
        """
        with self.warehouse.session() as client:
            if not self._migrated:
                apply_migrations(client, self.warehouse.cluster)
                self._migrated = True
            current = versions.served(client)
            self.last_warehouse_ok = time.monotonic()
            changed = {
                role: version
                for role, version in current.items()
                if role not in self.served
                or self.served[role].model_version != version.model_version
            }
            if changed or set(self.served) - set(current):
                with self._catalogue_guard:
                    self._swap(self._load(changed, current))
            self._sweep_fresh_users(client)
        return bool(changed)

    def _load(
        self, changed: dict[str, versions.ModelVersion], current: dict[str, versions.ModelVersion]
    ) -> dict[str, Snapshot]:
        """Snapshots for the roles that changed hands; the others kept; retired roles dropped."""
        reads = self.settings.serving_reads
        if changed:
            with self.warehouse.session() as client:
                self.catalogue_feed.start(client)  # before loading: a write during is re-read
            self.catalogue = load_catalogue(self.warehouse, reads)
            self.catalogue_generation += 1
        served = {role: s for role, s in self.served.items() if role in current}
        for role, version in changed.items():
            started = time.perf_counter()
            served[role] = load_snapshot(self.warehouse, version, reads)
            log.info(
                "serving %s as %s (%s reads, fold-in %s) loaded in %.2f s",
                version.model_version,
                role,
                reads,
                "on" if served[role].fold_in else "off",
                time.perf_counter() - started,
            )
        return served

    def _swap(self, served: dict[str, Snapshot]) -> None:
        self.served = served  # one reference assignment: requests see old or new, never both
        cutoff = self._oldest_cutoff()
        if cutoff is None:
            return
        self.fresh.forget_before(cutoff)
        if self._swept_until is None or self._swept_until < cutoff:
            self._swept_until = pd.Timestamp(cutoff)

    def _oldest_cutoff(self):
        """The earliest data cut-off of the served versions: events after it are new to one."""
        served = self.served
        return min((s.events_ingested_until for s in served.values()), default=None)

    def _sweep_fresh_users(self, client: Client) -> None:
        """Mark users with events stored after what we last swept (any writer) as fresh."""
        cutoff = self._oldest_cutoff()
        if self._swept_until is None or cutoff is None:
            return
        # Never before the served models' cut-off: events up to it are in every model.
        since = max(self._swept_until - SWEEP_OVERLAP, cutoff)
        newest = ingestion.users_ingested_since(client, since)
        self._last_sweep = time.monotonic()
        if newest:
            self.fresh.merge(newest)
            self._swept_until = max(self._swept_until, max(newest.values()))

    def held_users(self) -> set[str]:
        """Every user this process holds something of: fresh, cached, or a list in memory."""
        users = {*self.fresh.users(), *self.fold_ins.users(), *self.histories.users()}
        users.update(self.online.held_users())
        for snapshot in self.served.values():
            users.update(snapshot.reads.held_users())
        return users

    def forget_users(self, users: set[str]) -> int:
        """Drop everything this process holds of these (erased) users; returns how many
        entries went."""
        dropped = 0
        for user_id in users:
            dropped += self.fresh.forget(user_id)
            dropped += self.fold_ins.forget(user_id) + self.histories.forget(user_id)
            dropped += self.online.forget(user_id)
            for snapshot in self.served.values():
                dropped += snapshot.reads.forget_user(user_id)
        return dropped

    def model_summary(self) -> tuple[str, str, float] | None:
        """(version, algorithm, seconds since publication) of the served model, for metrics."""
        snapshot = self.snapshot
        if snapshot is None:
            return None
        published = snapshot.published_at or snapshot.trained_at
        return snapshot.model_version, snapshot.algorithm, time.time() - published.timestamp()

    def store_events(self, rows: Sequence[dict], settle: Settle | None = None) -> int:
        """Insert events durably; returns only after the warehouse acknowledged the insert.
        `settle` (in the same session) leaves out repeats of stored events or refuses.

        A warehouse fault propagates (the API answers 503) and marks writes as failing, which
        readiness reports until a write succeeds again."""
        try:
            with self.warehouse.session() as client:
                to_write, repeats = settle(client, list(rows)) if settle else (list(rows), 0)
                stored = repeats
                if to_write:
                    frame = pd.DataFrame.from_records(to_write, columns=list(to_write[0]))
                    stored += source_tables.insert_events(client, frame)
        except Exception as error:
            reason = unavailable_reason(error)
            if reason is not None:
                self.write_failure = reason
            raise
        self.write_failure = None
        self.last_warehouse_ok = time.monotonic()
        self.fresh.add((row["user_id"], row["item_id"]) for row in rows)
        self.metrics.events.labels("accepted").inc(stored)
        return stored

    def writes_work(self, probe_every: float = 1.0) -> bool:
        """False while event writes fail; then a small probe write (at most every
        `probe_every` seconds) finds out when they work again."""
        if self.write_failure is None:
            return True
        if time.monotonic() - self._last_write_probe < probe_every:
            return False
        self._last_write_probe = time.monotonic()
        try:
            with self.warehouse.session(timeout=5.0) as client:
                client.insert("api_write_probes", [[socket.gethostname()]], column_names=["probe"])
        except Exception as error:
            self.write_failure = unavailable_reason(error) or f"write probe failed: {error}"
            return False
        self.write_failure = None
        return True

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
