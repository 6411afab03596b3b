"""Erasing a user's saved models from the runs an MLflow tracking server knows, found through
its REST API: each run's `model/model.npz`, read and deleted when it was trained on the user.
A run's artefacts are where its experiment put them: files on a volume this process shares
(docker-compose's experiment keeps them on the shared `/data`), or the server's own store when
it serves it (`mlflow server --serve-artifacts`), through the server.

Runs whose artefacts live elsewhere (an object store the server only names, a disk this
machine does not see) are out of reach: `ArtefactsUnreachable` says which, and the receipt
lists it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from recsys.erasure.files import erase_model_artefacts, holds_user

PROXIED = "mlflow-artifacts:"
MODEL_FILE = "model/model.npz"


class ArtefactsUnreachable(RuntimeError):
    """The server's artefacts cannot be searched or cleaned from here."""


def erase_served_models(tracking_uri: str, experiment: str, user_id: str) -> int:
    """Delete the experiment's saved models trained on the user; returns how many."""
    removed = 0
    with _client(tracking_uri) as http:
        for artifact_uri in _run_artefact_roots(http, experiment):
            local = _local_folder(artifact_uri)
            if local is not None:
                removed += _erase_local(local, user_id)
                continue
            if not artifact_uri.startswith(PROXIED):
                raise ArtefactsUnreachable(
                    f"runs keep their artefacts at {artifact_uri.split('://')[0]}:// "
                    "storage the tracking server does not serve"
                )
            path = f"{artifact_uri[len(PROXIED) :].lstrip('/')}/{MODEL_FILE}"
            url = f"/api/2.0/mlflow-artifacts/artifacts/{path}"
            saved = http.get(url)
            if saved.status_code == 404:
                continue
            _raise_for(saved)
            if holds_user(saved.content, user_id):
                _raise_for(http.delete(url))
                removed += 1
    return removed


def _local_folder(artifact_uri: str) -> Path | None:
    parsed = urlparse(artifact_uri)
    return Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None


def _erase_local(run_artefacts: Path, user_id: str) -> int:
    # A run's folder may be missing because it saved nothing; the experiment's folder (two
    # levels up) missing means the files are on another machine's disk.
    if not run_artefacts.exists():
        if not run_artefacts.parent.parent.exists():
            raise ArtefactsUnreachable(
                f"runs keep their artefacts in {run_artefacts.parent.parent}, which this "
                "machine does not see: mount it here or erase there"
            )
        return 0
    return erase_model_artefacts(run_artefacts, user_id)


def _client(tracking_uri: str) -> httpx.Client:
    # MLflow's own client settings for a server that needs a login.
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    user, password = (
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    return httpx.Client(
        base_url=tracking_uri.rstrip("/"),
        timeout=60,
        headers={"Authorization": f"Bearer {token}"} if token else None,
        auth=(user, password or "") if user else None,
    )


def _run_artefact_roots(http: httpx.Client, experiment: str) -> Iterator[str]:
    found = http.get(
        "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": experiment}
    )
    if found.status_code == 404:
        return  # no experiment yet: nothing was ever trained there
    _raise_for(found)
    experiment_id = found.json()["experiment"]["experiment_id"]
    token = None
    while True:
        body = {"experiment_ids": [experiment_id], "max_results": 1000, "run_view_type": "ALL"}
        page = http.post(
            "/api/2.0/mlflow/runs/search", json=body | ({"page_token": token} if token else {})
        )
        _raise_for(page)
        content = page.json()
        for run in content.get("runs", []):
            yield run["info"]["artifact_uri"]
        token = content.get("next_page_token")
        if not token:
            return


def _raise_for(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise ArtefactsUnreachable(
            f"the tracking server refused ({response.status_code}): give this process "
            "MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN with delete rights"
        )
    response.raise_for_status()
