"""Erasures made while a run was training: applied again before its version is published.

A run reads the events once, early; a user erased after that is still in its matrix, its model
and the lists it exports, and publishing would serve them again. Before the switch, every
erasure recorded after a version's data cut-off is matched (by its keyed hash, in this process)
against the users in the lists, and those users are erased again from every place this process
reaches: the rows, this instance's stored values and step output, the model artefacts and the
validation results.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg

from recsys.erasure import records
from recsys.erasure.everywhere import erase_everywhere
from recsys.erasure.places import FileRoots, compute_logs_dir, file_places
from recsys.warehouse.connection import Warehouse
from recsys_assets.resources import ErasureResource


def erase_again(
    context: dg.AssetExecutionContext,
    store: Warehouse,
    erasure: ErasureResource,
    quality_dir: str,
) -> int:
    """Erase users erased while this run trained; returns how many."""
    with store.session() as client:
        users = records.erased_users_in_lists(client, erasure.key_ring())
    if not users:
        return 0
    instance = context.instance
    storage = Path(instance.storage_directory())
    places = file_places(
        FileRoots(  # where this run's instance and tracking run really write
            step_values=erasure.step_values_url or str(storage),
            step_output=compute_logs_dir(Path(instance.root_directory), storage),
            quality_dir=Path(quality_dir),
            tracking_uri=context.resources.mlflow.get_tracking_uri(),
            model_artefacts=_local_artefacts(context.resources.mlflow.get_artifact_uri()),
        )
    )
    for user_id in users:
        erased = erase_everywhere(store, places, user_id)
        # Never the id: run logs are kept.
        context.log.info(f"a user erased while this run trained was erased again: {erased.removed}")
    return len(users)


def _local_artefacts(artifact_uri: str) -> Path | None:
    """The folder of every run's artefacts when they are local files (…/<run>/artifacts)."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        return None  # served by the tracking server: erased through it
    return Path(unquote(parsed.path)).parent.parent
