"""The production Dagster instance run for real on this machine: Debian's PostgreSQL server in a
temporary cluster, `deploy/dagster.yaml` (Postgres run, event-log and schedule storage, the
queued run coordinator), the code location served by `dagster api grpc`, `dagster-webserver`
and `dagster-daemon` as separate processes, and an MLflow tracking server whose backend store
is in Postgres and which serves the artifacts. `full_pipeline` is launched through the
webserver's GraphQL API, as the UI does; the daemon dequeues it; the model lands in the MLflow
server under the champion alias; the API serves that version; and erasing a user the run
trained on reaches every copy (files on the shared volume, models through the MLflow server).

ClickHouse stays embedded (chDB with its inter-process lock): no ClickHouse server can run here,
and `chdb+server://` works inside one process only.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SMALL_BUDGET, free_port

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _needs(reason: str) -> None:
    """Skip outside CI; under CI=true a missing piece is a failure (.ci/run installs them)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture
def postgres() -> Iterator[int]:
    """A PostgreSQL 15 cluster in a temporary directory (one `postgres` can enter: pytest's own
    are private to root), databases `dagster` and `mlflow`; its port."""
    if not (PG_BIN / "initdb").exists():
        _needs(f"needs Debian's PostgreSQL 15 server ({PG_BIN})")
    try:
        import dagster_postgres  # noqa: F401
        import psycopg2  # noqa: F401
    except ImportError:
        _needs("needs dagster-postgres and psycopg2 (pip install -e '.[test]')")
    root = Path(tempfile.mkdtemp(prefix="recsys-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    data, log = root / "data", root / "server.log"
    run = lambda command: subprocess.run(_as_postgres(command), check=True, capture_output=True)  # noqa: E731
    run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"])
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"])
    try:
        for database in ("dagster", "mlflow"):
            subprocess.run(
                [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
                + ["-c", f"CREATE DATABASE {database}"],
                check=True,
                capture_output=True,
            )
        yield port
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


class Processes:
    """Long-running processes of the stack, each logging to a file; all stopped at the end."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env, self.running = logs, env, {}

    def start(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.running[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def wait_for(self, name: str, ready, seconds: float = 180) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            process = self.running[name]
            assert process.poll() is None, f"{name} exited:\n{self.tail(name)}"
            assert time.monotonic() < deadline, (
                f"{name} not ready in {seconds} s:\n{self.tail(name)}"
            )
            time.sleep(0.5)

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-4000:]

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_full_pipeline_launched_through_the_webserver_runs_on_the_production_instance(
    postgres: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """...and erasing a user it trained on, with docker-compose's settings (DAGSTER_HOME
    outside RECSYS_HOME, the instance's files on the shared volume, models on the MLflow
    server), leaves the id in no file and no table."""
    from dagster import DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient
    from fastapi.testclient import TestClient
    from mlflow import MlflowClient

    from recsys.settings import Settings
    from recsys_assets.registry import REGISTERED_MODEL
    from serving.app import create_app

    home, dagster_home = tmp_path / "home", tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    grpc_port, ui_port, mlflow_port = free_port(), free_port(), free_port()
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - grpc_server:\n"
        f"      host: 127.0.0.1\n      port: {grpc_port}\n      location_name: recsys\n"
    )
    tracking = f"http://127.0.0.1:{mlflow_port}"
    env = {
        **os.environ,
        "RECSYS_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_POSTGRES_HOST": "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(postgres),
        "DAGSTER_POSTGRES_DB": "dagster",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "MLFLOW_TRACKING_URI": tracking,
        "RECSYS_SYNTHETIC_USERS": "400",
        "RECSYS_SYNTHETIC_ITEMS": "250",
        "RECSYS_SYNTHETIC_EVENTS": "25000",
        "RECSYS_AUTOMATION_ON": "false",  # only the launched run, no sensor or schedule runs
        "DAGSTER_ARTIFACTS_DIR": str(home / "dagster"),  # the shared volume, as in compose
        "RECSYS_ADMIN_TOKEN": "s3cret",
        "RECSYS_ERASURE_KEY": "a-secret-kept-outside-the-warehouse",
    }
    bin_dir = Path(sys.executable).parent
    stack = Processes(tmp_path, env)
    try:
        stack.start(
            "mlflow",
            [str(bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(mlflow_port)]
            + ["--backend-store-uri", f"postgresql+psycopg2://postgres@127.0.0.1:{postgres}/mlflow"]
            + ["--artifacts-destination", str(tmp_path / "artifacts"), "--serve-artifacts"]
            + ["--workers", "1"],
        )
        stack.start(
            "code",
            [str(bin_dir / "dagster"), "api", "grpc", "-m", "recsys_assets.definitions"]
            + ["-h", "127.0.0.1", "-p", str(grpc_port)],
        )
        stack.wait_for("mlflow", lambda: _answers(f"{tracking}/health"))
        health = [str(bin_dir / "dagster"), "api", "grpc-health-check", "-p", str(grpc_port)]
        stack.wait_for(
            "code", lambda: subprocess.run(health, capture_output=True, env=env).returncode == 0
        )
        workspace = ["-w", str(tmp_path / "workspace.yaml")]
        stack.start(
            "webserver",
            [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(ui_port), *workspace],
        )
        stack.start("daemon", [str(bin_dir / "dagster-daemon"), "run", *workspace])
        stack.wait_for("webserver", lambda: _answers(f"http://127.0.0.1:{ui_port}/server_info"))

        for name in ("DAGSTER_HOME", "DAGSTER_ARTIFACTS_DIR", "RECSYS_ERASURE_KEY"):
            monkeypatch.setenv(name, env[name])  # the API reads the stack's configuration
        settings = Settings(home=home, mlflow_tracking_uri=tracking, admin_token="s3cret")
        with TestClient(create_app(settings)) as api:  # a user the run will train on
            events = [
                {"user_id": USER, "item_id": f"i{n}", "event_type": "like"} for n in range(12)
            ]
            assert api.post("/events", json={"events": events}).status_code == 200

        client = DagsterGraphQLClient("127.0.0.1", port_number=ui_port)
        run_id = client.submit_job_execution(
            "full_pipeline", repository_location_name="recsys", run_config=SMALL_BUDGET
        )
        deadline = time.monotonic() + 600
        status = client.get_run_status(run_id)
        while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE):
            assert time.monotonic() < deadline, f"run {run_id} still {status} after 10 minutes"
            for name in ("daemon", "code", "webserver", "mlflow"):
                assert stack.running[name].poll() is None, f"{name} exited:\n{stack.tail(name)}"
            time.sleep(2)
            status = client.get_run_status(run_id)
        # Submitted runs wait in the queue until the daemon takes them: a success is its doing.
        assert status == DagsterRunStatus.SUCCESS, stack.tail("code") + stack.tail("daemon")

        champion = MlflowClient(tracking).get_model_version_by_alias(REGISTERED_MODEL, "champion")
        roots = [home, dagster_home, tmp_path / "artifacts"]
        assert _naming(roots, postgres, USER)["files"]  # the run kept copies of the user
        with TestClient(create_app(settings)) as api:
            served = api.get("/model").json()
            assert served["model_version"] == champion.tags["model_version"]
            erased = api.delete(f"/users/{USER}", headers={"Authorization": "Bearer s3cret"})
        assert erased.status_code == 200, erased.text
        # Every place reached: the instance's files on the shared volume, the models through
        # the MLflow server; nothing left in any file or in Postgres (Dagster's and MLflow's).
        assert erased.json()["not_reached"] == []
        assert _naming(roots, postgres, USER) == {"files": [], "postgres": []}
    finally:
        stack.stop()


USER = "compose-erased-ß-2b7e"


def _naming(roots: list[Path], port: int, needle: str) -> dict[str, list[str]]:
    """Files under `roots`, and Postgres databases, whose bytes hold `needle`."""
    found = subprocess.run(
        ["grep", "-rlaF", "--", needle, *map(str, roots)], capture_output=True, check=False
    )
    databases = []
    for database in ("dagster", "mlflow"):
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
            + ["--data-only", database],
            capture_output=True,
            check=True,
        ).stdout
        if needle.encode() in dump:
            databases.append(database)
    return {"files": found.stdout.decode("utf-8", "replace").split(), "postgres": databases}
