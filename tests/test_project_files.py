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
