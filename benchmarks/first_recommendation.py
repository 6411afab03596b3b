"""How long `python -m recsys up` takes, from an empty RECSYS_HOME, to serve a personal list,
and how long Ctrl+C then takes to stop everything it started.

    python -m benchmarks.first_recommendation [--starts 3]

Each start uses a new home and spare ports: the README's run command (installation excluded)
with the default dataset. It polls `GET /recommendations/u0` until the answer comes from the
model (not trending), prints the time, sends SIGINT (what Ctrl+C sends), and measures until
every process it started has exited, checking the output for tracebacks.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks._util import ROOT, free_port, recsys_env


def one_start() -> tuple[float, float, float, bool]:
    """(API answering, first personal recommendation, stopped after Ctrl+C) in seconds, and
    whether anything printed a traceback while stopping."""
    with tempfile.TemporaryDirectory() as home:
        api_port = free_port()
        env = recsys_env(home, api_port=api_port, dagster_port=free_port(), mlflow_port=free_port())
        log = Path(home) / "up.log"
        with log.open("w") as out:
            started = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "recsys", "up"], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            api_up = None
            try:
                while True:
                    assert process.poll() is None, log.read_text()[-2000:]
                    try:
                        response = httpx.get(f"http://127.0.0.1:{api_port}/recommendations/u0")
                        api_up = api_up or time.perf_counter()
                        if (
                            response.status_code == 200
                            and response.json()["items"][0]["source"] != "trending"
                        ):
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.2)
                first = time.perf_counter()
            finally:
                children = psutil.Process(process.pid).children(recursive=True)
                stopping_from = len(log.read_text())
                interrupted = time.perf_counter()
                process.send_signal(signal.SIGINT)
                process.wait(timeout=120)
                psutil.wait_procs(children, timeout=60)
                stopped = time.perf_counter()
        traceback = "Traceback" in log.read_text()[stopping_from:]
    return api_up - started, first - started, stopped - interrupted, traceback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    firsts = []
    for n in range(1, args.starts + 1):
        api_up, first, stop, traceback = one_start()
        firsts.append(first)
        print(
            f"start {n}: API answering after {api_up:5.1f} s, first personal recommendation "
            f"{first:5.1f} s, Ctrl+C to everything stopped {stop:4.1f} s"
            f"{', TRACEBACK while stopping' if traceback else ', no traceback'}",
            flush=True,
        )
    print(f"first personal recommendation: {args.starts} of {args.starts} starts, "
          f"{min(firsts):.1f}-{max(firsts):.1f} s (default synthetic dataset)")  # fmt: skip


if __name__ == "__main__":
    main()
