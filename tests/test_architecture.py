"""The boundaries the code keeps, checked on every run (contracts in `.importlinter`):
`recsys` imports neither Dagster nor FastAPI, serving imports no training code, no router
imports another or the warehouse, serving's packages are layered, and no package has an import
cycle between its modules."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency: pip install -e '.[test]'"
    done = subprocess.run([lint, str(ROOT / ".importlinter")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout and "6 kept" in done.stdout


def test_the_core_needs_no_exception_and_its_root_holds_only_entry_modules():
    """The launcher lives outside the Dagster-free core, so no contract carries an exception;
    concepts live in packages named for them, not loose at the root."""
    assert "ignore_imports" not in (ROOT / ".importlinter").read_text()
    loose = {p.name for p in (ROOT / "recsys").glob("*.py")}
    assert loose <= {"__init__.py", "__main__.py", "settings.py", "tracing.py", "lifts.py"}, loose


def test_serving_root_holds_only_the_app_and_its_wiring():
    """Every serving concept lives in the package named for it (http, lists, writes,
    measurement, held); the root builds the app and wires one process's state."""
    loose = {p.name for p in (ROOT / "serving").glob("*.py")}
    assert loose <= {"__init__.py", "app.py", "state.py"}, loose


def test_no_adapter_asks_which_family_a_model_is():
    """The assets, the search and the API call the lifecycle hooks of every model
    (`recsys.models.lifecycle`); none tests for a concrete family's class (the content model
    and the popularity baseline are used by name as what they are, never switched on)."""
    import inspect
    import re

    import recsys.models.als
    import recsys.models.content
    import recsys.models.ease
    import recsys.models.hybrid
    import recsys.models.knn
    import recsys.models.popularity
    import recsys.ranking.recommender
    from recsys.models.base import Recommender

    modules = [recsys.models.als, recsys.models.content, recsys.models.ease, recsys.models.hybrid,
               recsys.models.knn, recsys.models.popularity, recsys.ranking.recommender]  # fmt: skip
    concrete = {
        name
        for module in modules
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, Recommender) and value is not Recommender
    }
    assert "RankerRecommender" in concrete and "ALSRecommender" in concrete
    asking = [
        f"{path.relative_to(ROOT)}: {name}"
        for folder in ("recsys_assets", "serving", "recsys/training/selection.py")
        for path in ([ROOT / folder] if folder.endswith(".py") else (ROOT / folder).rglob("*.py"))
        for name in concrete
        if re.search(rf"isinstance\([^)]*\b{name}\b", path.read_text())
    ]
    assert not asking, asking
