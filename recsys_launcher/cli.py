"""`recsys up`: materialise the pipeline and serve the Dagster UI and the API on one machine.

    recsys up              # Dagster UI + daemon on :3000, API on :8000, then run full_pipeline
    recsys up --no-run     # serve what was published before
    recsys materialize     # run full_pipeline once, no servers

Everything is a subprocess (dagster dev, uvicorn, dagster job execute) sharing one environment,
so the run shows live in the UI and the API picks up the published version on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from recsys.settings import Settings
from recsys.streaming.run import consume
from recsys_launcher import stores

PROJECT_FILES = ("dagster.yaml", "workspace.yaml")


def project_root() -> Path:
    """The folder holding dagster.yaml and workspace.yaml: the cwd, else the source checkout."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parents[1]):
        if all((candidate / name).is_file() for name in PROJECT_FILES):
            return candidate
    raise SystemExit(
        "recsys: cannot find dagster.yaml and workspace.yaml; run from the project's folder"
    )


def prepare_environment(settings: Settings) -> dict[str, str]:
    """Create RECSYS_HOME, install the instance config into DAGSTER_HOME, export the settings."""
    root = project_root()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    instance_config = settings.dagster_home / "dagster.yaml"
    if settings.dagster_home_dir is None or not instance_config.exists():
        # A DAGSTER_HOME of the user's own keeps the instance configuration it has.
        shutil.copyfile(root / "dagster.yaml", instance_config)
    env = dict(os.environ)
    if not settings.admin_token:
        # The API's admin endpoints are disabled without a token; give this home one so the
        # pipeline can tell the API about publications, and the user can find it.
        env["RECSYS_ADMIN_TOKEN"] = admin_token(settings.home)
    env.update(
        {
            "RECSYS_HOME": str(settings.home),
            "DAGSTER_HOME": str(settings.dagster_home),
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "GX_ANALYTICS_ENABLED": "False",
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def admin_token(home: Path) -> str:
    """This home's admin token, created once in `<home>/admin-token` (readable by its owner)."""
    path = home / "admin-token"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


RECOVER = "python -m recsys materialize"
# uvicorn's HTTP protocol with a deadline for request headers (serving.http.slow_clients).
SLOW_CLIENTS = "serving.http.slow_clients:TimedHTTPProtocol"


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """A child in its own session: Ctrl+C in the terminal reaches only this process, which
    then stops the children in order (no half-stopped children printing tracebacks)."""
    return subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)


def materialize_command() -> list[str]:
    return [
        sys.executable,
        "-m",
        "dagster",
        "job",
        "execute",
        "-m",
        "recsys_assets.definitions",
        "-j",
        "full_pipeline",
    ]


def materialize(settings: Settings, env: dict[str, str], children: list[subprocess.Popen]) -> int:
    """Run full_pipeline once; on failure, say what failed and how to recover."""
    # Runs from DAGSTER_HOME: a dagster.yaml in the cwd that is not DAGSTER_HOME's only confuses.
    run = start(materialize_command(), env, Path(env["DAGSTER_HOME"]))
    children.append(run)
    code = run.wait()
    children.remove(run)
    if code != 0:
        reason = stores.last_failure(settings.dagster_home) or f"exit status {code}"
        print(
            f"recsys: full_pipeline failed ({reason}).\n"
            f"  What was published before keeps serving. Fix the cause, then run it again:\n"
            f"    {RECOVER}\n"
            f"  (or 'Materialize all' in the Dagster UI; the retrain sensor also requests a run "
            "once new events arrive)",
            file=sys.stderr,
            flush=True,
        )
    return code


def prepare_stores(settings: Settings) -> None:
    """Create every store before a second process can race to create it."""
    print("recsys: preparing the warehouse, MLflow and Dagster stores...", flush=True)
    stores.initialise(settings)


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stop(processes: list[subprocess.Popen]) -> None:
    """Ask politely (SIGINT, then SIGTERM), then kill whatever is still running.

    SIGINT goes to each child alone: `dagster dev` forwards it to its own children, which a
    second copy would interrupt mid-shutdown (a traceback). SIGTERM and SIGKILL go to each
    child's whole process group, so nothing it started is left behind. A second Ctrl+C does
    not interrupt the stopping."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum, grace in ((signal.SIGINT, 15.0), (signal.SIGTERM, 10.0)):
        alive = [p for p in processes if p.poll() is None]
        for process in alive:
            if signum == signal.SIGINT:
                process.send_signal(signum)
            else:
                _signal_group(process, signum)
        deadline = time.monotonic() + grace
        for process in alive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    for process in processes:
        _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def up(settings: Settings, run_pipeline: bool) -> int:
    # A shell that starts us in the background leaves SIGINT ignored, which would make Ctrl+C
    # (and `kill -INT`) do nothing; handle SIGINT and SIGTERM explicitly. The handlers also
    # reset to the default in the children we exec.
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    env = prepare_environment(settings)
    prepare_stores(settings)
    root = project_root()
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    ui_url = settings.dagster_ui
    servers = [
        start(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-w",
                str(root / "workspace.yaml"),
                "-p",
                str(settings.dagster_port),
            ],
            env,
            settings.dagster_home,
        ),
        start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "serving.app:app",
                "--http",
                SLOW_CLIENTS,
                "--host",
                settings.api_host,
                "--port",
                str(settings.api_port),
            ],
            env,
            settings.home,
        ),
    ]
    if not settings.tracking_is_server:
        # Local tracking (SQLite + files) has no UI of its own: serve one, for the page's links.
        servers.append(
            start(
                [
                    sys.executable,
                    "-m",
                    "mlflow",
                    "ui",
                    "--backend-store-uri",
                    settings.tracking_uri,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(settings.mlflow_port),
                    "--workers",
                    "1",
                ],
                env,
                settings.home,
            )
        )
    if settings.kafka_bootstrap_servers:  # events from Kafka too: the consumer, its own process
        servers.append(start([sys.executable, "-m", "recsys", "consume"], env, settings.home))
    children = list(servers)
    try:
        if not wait_until_serving(f"{api_url}/health/live", servers[1], timeout=120):
            print("recsys: the API did not start; see its log above", file=sys.stderr)
            return 1
        print(f"\nrecsys: API on {api_url} (docs at {api_url}/docs)", flush=True)
        if run_pipeline:
            print("recsys: materialising full_pipeline (watch it in the Dagster UI)...", flush=True)
            started = time.monotonic()
            if materialize(settings, env, children) == 0:
                wait_until_serving(f"{api_url}/health/ready", servers[1], timeout=60)
                print(f"recsys: published in {time.monotonic() - started:.0f} s", flush=True)
        token_source = (
            "$RECSYS_ADMIN_TOKEN" if settings.admin_token else settings.home / "admin-token"
        )
        kafka = settings.kafka_bootstrap_servers
        print(
            f"\nrecsys is up:\n  web page     {api_url}/\n  Dagster UI   {ui_url}\n"
            f"  MLflow       {settings.mlflow_ui}\n  API          {api_url} (docs at /docs)\n"
            f"  try          curl '{api_url}/recommendations/u0?k=5'\n"
            f"  admin token  {token_source}\n"
            + (f"  Kafka        {settings.kafka_events_topic} on {kafka}\n" if kafka else "")
            + "Press Ctrl+C to stop.",
            flush=True,
        )
        while all(server.poll() is None for server in servers):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        print("\nrecsys: stopping...", flush=True)
        return 0
    finally:
        stop(children)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="serve the Dagster UI and the API, run the pipeline")
    up_parser.add_argument("--no-run", action="store_true", help="serve without materialising")
    commands.add_parser("materialize", help="run full_pipeline once, without servers")
    consume_parser = commands.add_parser("consume", help="store events from Kafka until stopped")
    consume_parser.add_argument("--idle-exit", type=float, help="stop after N s with nothing new")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "up":
        return up(settings, run_pipeline=not args.no_run)
    if args.command == "consume":
        return consume(settings, args.idle_exit)
    env = prepare_environment(settings)
    prepare_stores(settings)
    children: list[subprocess.Popen] = []
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return materialize(settings, env, children)
    except KeyboardInterrupt:
        return 130
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
