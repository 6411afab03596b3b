"""A first run that always works: every store exists before the processes that share it start,
and a failed run says what failed and the one command that recovers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from recsys.settings import Settings
from recsys_launcher import stores

ROOT = Path(__file__).resolve().parents[1]


def test_initialise_creates_every_store_so_concurrent_openers_never_race(tmp_path: Path):
    # Not from the environment: an earlier test's mlflow.set_tracking_uri() exported one.
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=None)
    assert stores.initialise(settings) == ["warehouse", "MLflow", "Dagster"]
    assert (settings.home / "mlflow.db").is_file()
    assert (settings.dagster_home / "history" / "runs.db").is_file()
    # What `recsys up` starts at once: the MLflow UI and a run both open the store. With the
    # schema created first, neither creates it, so neither can fail on a half-made schema.
    opener = (
        "import sys; from mlflow.tracking import MlflowClient; "
        "c = MlflowClient(tracking_uri=sys.argv[1]); "
        "assert c.get_experiment_by_name('recsys').artifact_location.endswith('mlartifacts')"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", opener, settings.tracking_uri],
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    for process in processes:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0, errors
    assert stores.last_failure(settings.dagster_home) is None
    assert stores.initialise(settings)  # idempotent: a second start changes nothing


def test_a_failed_run_says_what_failed_and_how_to_recover(tmp_path: Path):
    env = {
        **os.environ,
        "RECSYS_HOME": str(tmp_path / "home"),
        "RECSYS_DATASET": f"movielens:{tmp_path / 'no-such-folder'}",
    }
    env.pop("DAGSTER_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "recsys", "materialize"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    # The CLI's own lines, not Dagster's log above them: the step, the cause, the command.
    said = done.stderr[done.stderr.index("recsys: full_pipeline failed") :]
    first = said.splitlines()[0]
    assert first.startswith("recsys: full_pipeline failed (step items: ValueError: ")
    assert "is neither a folder nor a known MovieLens archive" in first
    assert "python -m recsys materialize" in said
