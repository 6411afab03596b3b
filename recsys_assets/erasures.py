"""Erasures made while a run was training: applied again before its version is published.

A run reads the events once, early; a user erased after that is still in its matrix, its model
and the lists it exports, and publishing would serve them again. Before the switch, every
erasure recorded after a version's data cut-off is matched (by its salted hash, in the
warehouse) against the users in the lists, and those users are erased again from every store
this process reaches: the rows, this run's stored values and model artefacts.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import dagster as dg

from recsys import erasure
from recsys.warehouse.connection import Warehouse


def erase_again(context: dg.AssetExecutionContext, store: Warehouse, quality_dir: str) -> int:
    """Erase users erased while this run trained; returns how many."""
    with store.session() as client:
        users = erasure.erased_users_in_lists(client)
    if not users:
        return 0
    files = erasure.FileStores(
        stored_values=Path(context.instance.storage_directory()),
        quality_dir=Path(quality_dir),
        model_artefacts=_local_artefacts(context.resources.mlflow.get_artifact_uri()),
    )
    for user_id in users:
        removed = erasure.erase_user(store, user_id, files, erasure.new_salt())
        # Never the id: run logs are kept.
        context.log.info(f"a user erased while this run trained was erased again: {removed}")
    return len(users)


def _local_artefacts(artifact_uri: str) -> Path | None:
    """The folder of every run's artefacts when they are local files (…/<run>/artifacts)."""
    parsed = urlparse(artifact_uri)
    if parsed.scheme not in ("", "file"):
        return None  # an artefact server: the API's answer says what the operator must do
    return Path(unquote(parsed.path)).parent.parent
