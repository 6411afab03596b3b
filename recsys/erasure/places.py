"""Where user data is stored: the one registry erasure walks, found from the configuration the
writers use.

Each place names its writer and either how to erase the user there or why this process cannot.
The warehouse finds its own tables (every table with a `user_id` column); the files are found
where their writers put them:

- Dagster's stored step values and captured step output: the instance's local artefact
  storage, read from `$DAGSTER_HOME/dagster.yaml` as Dagster reads it (default
  `$DAGSTER_HOME/storage`), or `RECSYS_STEP_VALUES_URL`;
- MLflow's saved models: the local artefact folder, or through a tracking server that serves
  its artefacts; the tracking store itself holds params, metrics and tags, never user ids;
- Great Expectations' validation results and their Data Docs pages.

A writer that starts keeping user ids somewhere new adds its place here; the erasure tests
search every byte of every configured root for an erased id, so a forgotten place fails them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from recsys.erasure import files
from recsys.erasure.mlflow_server import ArtefactsUnreachable, erase_served_models
from recsys.settings import Settings

MLFLOW_EXPERIMENT = "recsys"


@dataclass(frozen=True)
class Place:
    """One store of user data."""

    name: str
    writer: str
    erase: Callable[[str], int] | None  # removes the user, returns how much went
    unreachable: str = ""  # why `erase` is None, and what the operator must do


@dataclass(frozen=True)
class FileRoots:
    """Where the pipeline's files are, as the writers configure them."""

    step_values: str  # a folder, or an object store URL
    step_output: Path | None  # Dagster's captured stdout/stderr of steps
    quality_dir: Path
    tracking_uri: str
    model_artefacts: Path | None  # local MLflow artefacts (None: a tracking server's)

    @classmethod
    def of(cls, settings: Settings) -> FileRoots:
        storage = dagster_storage(settings.dagster_home)
        return cls(
            step_values=settings.step_values_url or str(storage),
            step_output=compute_logs_dir(settings.dagster_home, storage),
            quality_dir=settings.quality_dir,
            tracking_uri=settings.tracking_uri,
            model_artefacts=None if settings.tracking_is_server else settings.mlflow_artifacts_dir,
        )


def file_places(roots: FileRoots) -> list[Place]:
    """Every file store that can name a user."""
    places = [_step_values(roots.step_values)]
    if roots.step_output is not None:
        places.append(
            Place(
                "dagster step output",
                "Dagster's compute log manager",
                lambda u: files.scrub_lines(roots.step_output, u),
            )
        )
    places.append(_models(roots))
    places.append(
        Place(
            "great expectations validation results and data docs",
            "recsys.quality (the checks)",
            lambda u: files.erase_validation_results(roots.quality_dir, u),
        )
    )
    return places


def _step_values(where: str) -> Place:
    writer = "Dagster's IO manager (recsys_assets.resources)"
    parsed = urlparse(where)
    if parsed.scheme in ("", "file"):
        folder = Path(unquote(parsed.path)) if parsed.scheme else Path(where)
        return Place(
            "dagster stored values", writer, lambda u: files.erase_stored_values(folder, u)
        )
    return Place(
        "dagster stored values",
        writer,
        None,
        f"step values on {where}: delete {', '.join(files.VALUES_WITH_USERS)} there "
        "(this process has no credentials for that store)",
    )


def _models(roots: FileRoots) -> Place:
    name, writer = "mlflow model artefacts", "recsys_assets.assets.models (the champion's .npz)"
    if roots.model_artefacts is not None:
        return Place(name, writer, lambda u: files.erase_model_artefacts(roots.model_artefacts, u))
    return Place(
        name, writer, lambda u: erase_served_models(roots.tracking_uri, MLFLOW_EXPERIMENT, u)
    )


def erase_files(places: list[Place], user_id: str) -> tuple[dict[str, int], list[str], list[str]]:
    """Erase the user from every reachable place: (removed per place, places searched and
    cleaned, places not reached with why)."""
    removed, searched, not_reached = {}, [], []
    for place in places:
        if place.erase is None:
            not_reached.append(f"{place.name}: {place.unreachable}")
            continue
        try:
            removed[place.name] = place.erase(user_id)
        except ArtefactsUnreachable as error:
            not_reached.append(f"{place.name}: {error}")
            continue
        searched.append(place.name)
    return removed, searched, not_reached


def dagster_storage(dagster_home: Path) -> Path:
    """The instance's storage folder, as Dagster derives it: its local artefact storage's
    `base_dir` (default DAGSTER_HOME) plus `storage`."""
    config = _instance_config(dagster_home)
    section = (config.get("local_artifact_storage") or {}).get("config") or {}
    base = _value(section.get("base_dir"))
    return (Path(base) if base else dagster_home) / "storage"


def compute_logs_dir(dagster_home: Path, storage: Path) -> Path | None:
    """Where captured step output goes: the local compute log manager's `base_dir` (default
    the storage folder); None for a manager that sends it elsewhere (S3, Azure...)."""
    section = _instance_config(dagster_home).get("compute_logs") or {}
    if section and section.get("class") not in (None, "LocalComputeLogManager"):
        return None
    base = _value((section.get("config") or {}).get("base_dir"))
    return Path(base) if base else storage


def _instance_config(dagster_home: Path) -> dict:
    path = dagster_home / "dagster.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _value(value: object) -> str | None:
    """A Dagster config value: a literal or `{env: NAME}`."""
    if isinstance(value, dict) and "env" in value:
        return os.environ.get(str(value["env"])) or None
    return str(value) if value else None
