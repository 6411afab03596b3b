"""The experiments this API process runs: definitions from the file and the warehouse, and
which variant answers a user.

Definitions made through the API are stored in the warehouse; every process re-reads them when
they change (embedded: a marker file moves; server: each poll), so assignment, being a hash of
(experiment, user), agrees everywhere without sharing anything else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from recsys.experiments import store
from recsys.experiments.assignment import Splitter
from recsys.experiments.design import Experiment, Variant, conflicts, load_file
from recsys.warehouse.change_feed import EXPERIMENTS
from recsys.warehouse.connection import Warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    experiment: str
    variant: Variant


class DefinitionConflict(ValueError):
    """A definition the API cannot take as it stands (409), with the reason."""


class ExperimentBook:
    def __init__(self, warehouse: Warehouse, file: Path | None) -> None:
        self.warehouse = warehouse
        self.from_file: list[Experiment] = load_file(file) if file else []
        self.from_api: list[Experiment] = []
        self._running: dict[str, Splitter] = {}  # surface -> the experiment running on it
        self._loaded = False
        self._arrange()

    def load(self) -> None:
        """Read the API-defined experiments (at the first poll, and whenever the change feed
        says they changed)."""
        with self.warehouse.session() as client:
            self.from_api = store.defined(client)
        self._loaded = True
        self._arrange()

    def poll(self) -> None:
        """The first read, once the schema exists; later ones follow the change feed."""
        if not self._loaded:
            self.load()

    def all(self) -> list[Experiment]:
        return [*self.from_file, *self.from_api]

    def get(self, name: str) -> Experiment | None:
        return next((e for e in self.all() if e.name == name), None)

    def running(self, surface: str) -> Experiment | None:
        splitter = self._running.get(surface)
        return splitter.experiment if splitter else None

    def assign(self, surface: str, user_id: str, served_roles) -> Assignment | None:
        """The user's variant in the experiment running on `surface`, or None: no experiment,
        or one waiting for a role nothing serves yet (everyone gets the champion meanwhile)."""
        splitter = self._running.get(surface)
        if splitter is None or not splitter.experiment.roles <= served_roles:
            return None
        return Assignment(splitter.experiment.name, splitter.variant_of(user_id))

    def put(self, experiment: Experiment) -> None:
        """Define or replace an experiment; DefinitionConflict if the file owns the name or
        another running experiment holds its surface."""
        if any(e.name == experiment.name for e in self.from_file):
            raise DefinitionConflict(
                f"experiment {experiment.name!r} is defined in the experiments file; change it "
                "there"
            )
        others = [e for e in self.all() if e.name != experiment.name]
        clash = conflicts([*others, experiment])
        if clash:
            raise DefinitionConflict(clash)
        with self.warehouse.session() as client:
            store.save(client, experiment.model_copy(update={"source": "api"}))
        self.warehouse.notify_changed(EXPERIMENTS)
        self.load()

    def delete(self, name: str) -> bool:
        if any(e.name == name for e in self.from_file):
            raise DefinitionConflict(
                f"experiment {name!r} is defined in the experiments file; remove it there"
            )
        if not any(e.name == name for e in self.from_api):
            return False
        with self.warehouse.session() as client:
            store.remove(client, name)
        self.warehouse.notify_changed(EXPERIMENTS)
        self.load()
        return True

    def _arrange(self) -> None:
        running: dict[str, Splitter] = {}
        for experiment in self.all():
            if experiment.status != "running":
                continue
            if experiment.surface in running:  # the file's definitions come first
                log.warning(
                    "experiment %s ignored: %s already runs on %s",
                    experiment.name,
                    running[experiment.surface].experiment.name,
                    experiment.surface,
                )
                continue
            running[experiment.surface] = Splitter(experiment)
        self._running = running
