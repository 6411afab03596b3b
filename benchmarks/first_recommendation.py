"""How long `python -m recsys up` takes, from an empty RECSYS_HOME, to serve a personal list.

    python -m benchmarks.first_recommendation

Starts the README's run command (installation excluded) with the default dataset on spare
ports, polls `GET /recommendations/u0` until it answers from the model (not trending), prints
the time, and stops the servers.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time

import httpx

from benchmarks._util import ROOT, free_port, recsys_env


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        api_port, ui_port = free_port(), free_port()
        env = recsys_env(home, api_port=api_port, dagster_port=ui_port)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys", "up"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api_up = None
        try:
            while True:
                assert process.poll() is None, "recsys up exited early"
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
            first = time.perf_counter() - started
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    print(f"API answering after          {api_up - started:6.1f} s")
    print(f"first personal recommendation {first:6.1f} s  (default synthetic dataset)")


if __name__ == "__main__":
    main()
