"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recsys_env(home: Path | str, **settings: object) -> dict[str, str]:
    """This environment with RECSYS_HOME=home and RECSYS_<NAME> for each setting; no
    DAGSTER_HOME, so `recsys` puts Dagster's home inside `home`."""
    env = {**os.environ, "RECSYS_HOME": str(home)}
    env.update({f"RECSYS_{name.upper()}": str(value) for name, value in settings.items()})
    env.pop("DAGSTER_HOME", None)
    return env


def start_api(home: Path, port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**recsys_env(home), **(extra_env or {})}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "serving.app:app",
            # As every command that serves the API runs it (a deadline for slow headers).
            "--http",
            "serving.http.slow_clients:TimedHTTPProtocol",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/live").status_code == 200:
                return process
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API did not start") from None
            time.sleep(0.2)


def percentiles(samples_ms: list[float]) -> str:
    p50, p99 = np.percentile(samples_ms, [50, 99])
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
