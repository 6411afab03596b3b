"""README command one: `recsys up` materialises the pipeline and serves the UI and the API."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def test_recsys_up_serves_recommendations_and_the_dagster_ui(tmp_path: Path):
    api_port, ui_port, mlflow_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "RECSYS_HOME": str(tmp_path / "home"),
        "RECSYS_API_PORT": str(api_port),
        "RECSYS_DAGSTER_PORT": str(ui_port),
        "RECSYS_MLFLOW_PORT": str(mlflow_port),
        "RECSYS_SYNTHETIC_USERS": "300",
        "RECSYS_SYNTHETIC_ITEMS": "150",
        "RECSYS_SYNTHETIC_EVENTS": "15000",
    }
    env.pop("DAGSTER_HOME", None)
    log = (tmp_path / "up.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "recsys_launcher.cli", "up"],
        # As a shell's background job: SIGINT ignored. Ctrl+C must still stop everything.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while "recsys is up" not in (tmp_path / "up.log").read_text():
            assert process.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "recsys up did not come up in 5 minutes"
            time.sleep(1)
        output = (tmp_path / "up.log").read_text()
        assert f"http://127.0.0.1:{api_port}" in output and f"http://127.0.0.1:{ui_port}" in output
        # The run announced its publication with the home's admin token, and the API took it.
        assert f"API at http://127.0.0.1:{api_port} now serves" in output
        token = (tmp_path / "home" / "admin-token").read_text()
        assert (tmp_path / "home" / "admin-token").stat().st_mode & 0o077 == 0

        api = f"http://127.0.0.1:{api_port}"
        ready = httpx.get(f"{api}/health/ready").json()
        assert ready["status"] == "ok"
        sources = {
            httpx.get(f"{api}/recommendations/u{n}?k=5").json()["items"][0]["source"]
            for n in range(10)
        }
        assert sources - {"trending"}  # some users get the published model's own list
        reload = httpx.post(f"{api}/admin/reload", headers={"Authorization": f"Bearer {token}"})
        assert reload.status_code == 200 and httpx.post(f"{api}/admin/reload").status_code == 401

        runs = httpx.post(
            f"http://127.0.0.1:{ui_port}/graphql",
            json={"query": "{ runsOrError { ... on Runs { results { jobName status } } } }"},
            timeout=30,
        ).json()["data"]["runsOrError"]["results"]
        assert {"jobName": "full_pipeline", "status": "SUCCESS"} in runs
        # The web page, and the MLflow UI it links to (served because tracking is local).
        assert "<title>recsys" in httpx.get(f"{api}/").text
        about = httpx.get(f"{api}/about").json()
        assert about["mlflow_url"] == f"http://127.0.0.1:{mlflow_port}"
        assert about["dagster_url"] == f"http://127.0.0.1:{ui_port}"
        assert httpx.get(f"{about['mlflow_url']}/health", timeout=30).text == "OK"
        assert (tmp_path / "home" / "dagster" / "dagster.yaml").read_text() == (
            ROOT / "dagster.yaml"
        ).read_text()
    finally:
        # Everything it started, whatever session each child runs in.
        started = psutil.Process(process.pid).children(recursive=True)
        stopping_from = len((tmp_path / "up.log").read_text())
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            for child in started:
                child.kill()
            os.killpg(process.pid, signal.SIGKILL)
            raise
        finally:
            log.close()
    # Nothing it started outlives it for long (dagster's code server takes a moment to follow).
    _, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, f"still running after recsys up stopped: {[p.pid for p in alive]}"
    stopping = (tmp_path / "up.log").read_text()[stopping_from:]
    assert "Traceback" not in stopping, stopping[-3000:]
