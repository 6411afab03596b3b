"""What the API keeps for measuring itself online: the impression log, the experiments it runs,
and item exposure for exploration and demotion."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Sequence

from recsys.experiments import store
from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from serving.measurement.assignment import Assignment, ExperimentBook
from serving.measurement.exposure import Exposure
from serving.measurement.impressions import ImpressionLog
from serving.measurement.serving_policy import Policy

RESULTS_REFRESH_SECONDS = 60.0  # experiment_results is recomputed hourly; a minute is fresh


class Online:
    def __init__(self, warehouse: Warehouse, settings: Settings) -> None:
        self.settings = settings
        self.impressions = ImpressionLog(
            warehouse, settings.api_impression_queue, settings.api_impression_flush_seconds
        )
        self.experiments = ExperimentBook(warehouse, settings.experiments_file)
        self.exposure = Exposure(warehouse, settings.api_user_cache_size)
        self.default_policy = Policy.of(None, settings)  # for users in no experiment
        self.warehouse = warehouse
        # The newest `experiment_results` rows of running experiments (for /metrics).
        self.latest_results: list[dict] = []
        self._results_at = float("-inf")
        # Request ids: a random per-process prefix and a counter, unique across processes and
        # restarts without a system call per request (16 hex characters).
        self._id_prefix = secrets.token_hex(4)
        self._ids = itertools.count(1)

    def start(self) -> None:
        """Start the impression writer; experiments are read at the first poll after the
        schema exists (`poll`)."""
        if self.settings.api_log_impressions:
            self.impressions.start()

    def stop(self) -> None:
        self.impressions.stop()

    def poll(self) -> None:
        self.experiments.poll()
        if self.explores():
            self.exposure.refresh_pool()
        if time.monotonic() - self._results_at >= RESULTS_REFRESH_SECONDS:
            self._results_at = time.monotonic()
            running = [e.name for e in self.experiments.all() if e.status == "running"]
            if not running:  # no engine opened for nothing (embedded: it is shared)
                self.latest_results = []
                return
            with self.warehouse.session() as client:
                self.latest_results = [
                    row for name in running for row in store.latest_results(client, name)
                ]

    def explores(self) -> bool:
        """Whether any list may give slots to exploration (else the pool is never read)."""
        if self.settings.exploration_share > 0:
            return True
        running = self.experiments.running("recommendations")
        return bool(running and any(v.exploration for v in running.variants))

    def shown(
        self,
        surface: str,
        user_id: str,
        items: Sequence[str],
        model_version: str,
        assignment: Assignment | None = None,
    ) -> str:
        """Record a list about to be returned; returns its request_id."""
        request_id = f"{self._id_prefix}{next(self._ids):08x}"
        if self.settings.api_log_impressions:
            experiment, variant = (
                (assignment.experiment, assignment.variant.name) if assignment else ("", "")
            )
            self.impressions.record(
                request_id, user_id, surface, items, model_version, experiment, variant
            )
        return request_id

    def forget(self, user_id: str) -> int:
        return self.exposure.forget(user_id)

    def held_users(self) -> list[str]:
        return self.exposure.users()
