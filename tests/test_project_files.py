"""The top-level deployment files are real and valid."""

import shutil
from pathlib import Path

import dagster as dg
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_dagster_yaml_is_a_valid_instance_config_with_a_retrain_queue(tmp_path: Path):
    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "recsys/retrain", "limit": 1} in limits
    finally:
        instance.dispose()


def test_workspace_names_the_code_location_that_loads():
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    module = workspace["load_from"][0]["python_module"]["module_name"]
    assert module == "recsys_assets.definitions"
    from recsys_assets.definitions import defs

    assert isinstance(defs, dg.Definitions)


def test_the_image_copies_every_package_the_project_installs():
    """A package left out of the Dockerfile installs nowhere in production: the commands of
    docker-compose would fail at their first import."""
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [pattern.rstrip("*") for pattern in include["packages"]["find"]["include"]]
    dockerfile = (ROOT / "Dockerfile").read_text()
    missing = [p for p in packages if f"COPY {p} ./{p}" not in dockerfile]
    assert not missing, f"the Dockerfile does not copy {missing}"
