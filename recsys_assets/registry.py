"""The MLflow model registry follows the warehouse: each served role is an alias (`champion`,
`challenger`) on the registered version of the model version serving in it.

The warehouse's `model_versions` is the truth readers use; the registry is kept in step by
publication, by `experiment_results` after it acts, and by a sensor for promotions made
through the API (which does not talk to MLflow).
"""

from __future__ import annotations

from recsys.warehouse.roles import ROLES
from recsys.warehouse.versions import ModelVersion

REGISTERED_MODEL = "recsys"


def register(mlflow, version: ModelVersion) -> str:
    """Register the version's artifact in the MLflow model registry; returns its number."""
    client = mlflow.MlflowClient()
    run = client.get_run(version.mlflow_run_id)
    if not client.search_registered_models(filter_string=f"name = '{REGISTERED_MODEL}'"):
        client.create_registered_model(REGISTERED_MODEL)
    registered = client.create_model_version(
        REGISTERED_MODEL,
        source=f"{run.info.artifact_uri}/model",
        run_id=version.mlflow_run_id,
        tags={"model_version": version.model_version, "algorithm": version.algorithm},
    )
    return str(registered.version)  # the MLflow run ends with the Dagster run (resources.py)


def sync_aliases(client, served: dict[str, ModelVersion]) -> dict[str, str]:
    """Point each role's alias at the registered version serving in it; drop aliases of roles
    nothing serves. `client` is an `mlflow.MlflowClient`. Returns {role: registry version}."""
    if not client.search_registered_models(filter_string=f"name = '{REGISTERED_MODEL}'"):
        return {}
    aliases = client.get_registered_model(REGISTERED_MODEL).aliases  # alias -> number
    moved = {}
    for role in ROLES:
        version = served.get(role)
        if version is None:
            if role in aliases:
                client.delete_registered_model_alias(REGISTERED_MODEL, role)
            continue
        found = client.search_model_versions(
            f"name = '{REGISTERED_MODEL}' and tags.model_version = '{version.model_version}'"
        )
        if not found:
            continue  # never registered (published before the registry was used)
        number = str(max(int(v.version) for v in found))
        if str(aliases.get(role)) != number:
            client.set_registered_model_alias(REGISTERED_MODEL, role, number)
        moved[role] = number
    return moved
