"""The production stack: compose, instance and workspace files, dashboard, and server mode.

No Docker engine runs here, so the files are checked for what can be checked (they parse, they
reference what exists, Dagster accepts them), and the server-mode code path (one long-lived
client, no lock, polling for publications) runs against a clickhouse-connect client on an
in-process chDB engine (`chdb+server://`).
"""

import re
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from fastapi.testclient import TestClient

from recsys.warehouse.connection import close_in_process_clients
from serving.app import create_app
from serving.measurement.prometheus import ApiMetrics
from tests.conftest import run_full_pipeline, small_settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]


def test_compose_has_every_production_service():
    assert set(SERVICES) >= {
        "clickhouse",
        "postgres",
        "mlflow",
        "code",
        "dagster-webserver",
        "dagster-daemon",
        "api",
        "prometheus",
        "grafana",
        "redpanda",
        "consumer",
    }
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name


def test_services_without_a_login_are_published_on_loopback_only():
    """The Dagster UI, MLflow, ClickHouse, Prometheus and Kafka have no authentication: a
    port of theirs open on every interface is open to whoever reaches the machine."""
    with_login = {"api", "grafana"}  # the admin token; Grafana's own login
    published = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert set(published) >= {"clickhouse", "mlflow", "dagster-webserver", "prometheus"}
    for name, ports in published.items():
        if name not in with_login:
            assert all(str(p).startswith("127.0.0.1:") for p in ports), (name, ports)


def test_services_start_in_order_of_health():
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, (name, dependency)
            assert condition == {"condition": "service_healthy"}, (name, dependency)
            assert "healthcheck" in SERVICES[dependency], f"{dependency} has no healthcheck"
    for stateful in ("clickhouse", "postgres", "mlflow", "prometheus", "grafana"):
        named = [v for v in SERVICES[stateful]["volumes"] if not v.startswith("./")]
        assert named, f"{stateful} keeps its data in a named volume"


def test_every_mounted_file_and_the_dockerfile_exist():
    for name, service in SERVICES.items():
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), (name, source)


def test_every_required_variable_is_in_env_example():
    text = (ROOT / "docker-compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+)\}", text))  # no default: .env must set it
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required and required <= set(example), required - set(example)
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.parametrize("path", ["dagster.yaml", "deploy/dagster.yaml"])
def test_both_instance_configs_validate(tmp_path, path):
    shutil.copy(ROOT / path, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    assert {"key": "recsys/retrain", "limit": 1} in coordinator["config"]["tag_concurrency_limits"]
    assert config["run_retries"]["retry_on_asset_or_op_failure"] is False
    if path.startswith("deploy"):
        assert set(config["storage"]["postgres"]["postgres_db"]) >= {"hostname", "db_name"}


def test_production_workspace_names_the_grpc_code_location_compose_serves():
    workspace = yaml.safe_load((ROOT / "deploy/workspace.yaml").read_text())
    (location,) = workspace["load_from"]
    grpc = location["grpc_server"]
    assert grpc["host"] == "code" and grpc["location_name"] == "recsys"
    command = SERVICES["code"]["command"]
    assert command[:3] == ["dagster", "api", "grpc"]
    assert command[command.index("-p") + 1] == str(grpc["port"])
    module = command[command.index("-m") + 1]
    assert module == "recsys_assets.definitions"
    from recsys_assets.definitions import defs

    assert defs.resolve_job_def("full_pipeline") is not None


def test_dashboard_plots_metrics_the_api_exports():
    dashboard = yaml.safe_load((ROOT / "deploy/grafana/dashboards/recsys-api.json").read_text())
    from prometheus_client import generate_latest

    from recsys.streaming.observability import ConsumerStatus
    from serving.measurement.impressions import ImpressionLog

    # What the API and the Kafka consumer export.
    api = ApiMetrics()
    api.watch_online(ImpressionLog(None, capacity=1, flush_seconds=1.0), lambda: [])
    exported = api.exposition().decode()
    exported += generate_latest(ConsumerStatus().registry).decode()
    names = set(re.findall(r"^# TYPE (\w+)", exported, flags=re.M))
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"recsys_\w+", target["expr"])
    }
    base = {re.sub(r"_(bucket|sum|count|total)$", "", n) for n in used}
    assert base <= {re.sub(r"_total$", "", n) for n in names}, base - names
    scrape = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    targets = [c["static_configs"][0]["targets"] for c in scrape["scrape_configs"]]
    assert targets == [["api:8000"], ["consumer:9108"]]


def test_pipeline_and_api_in_server_mode(tmp_path):
    settings = small_settings(
        tmp_path, clickhouse_url=f"chdb+server://{tmp_path / 'warehouse'}", admin_token="t"
    )
    try:
        with dg.instance_for_test() as instance:
            assert run_full_pipeline(settings, instance).success
            # Server mode leaves no embedded lock or publication marker behind.
            assert not list(tmp_path.glob("warehouse.*"))
            with TestClient(create_app(settings)) as api:
                first = api.get("/model").json()["model_version"]
                body = api.get("/recommendations/u3", params={"k": 5}).json()
                assert body["source"] == "precomputed" and len(body["items"]) == 5
                liked = body["items"][0]["item_id"]
                api.post("/events", json={"user_id": "u3", "item_id": liked, "event_type": "like"})
                after = api.get("/recommendations/u3", params={"k": 5}).json()
                assert after["source"] == "fold_in" and liked not in {
                    i["item_id"] for i in after["items"]
                }
                assert run_full_pipeline(settings, instance).success
                deadline = time.monotonic() + 15  # no marker file: found by polling
                while api.get("/model").json()["model_version"] == first:
                    assert time.monotonic() < deadline, "server-mode API never saw the new version"
                    time.sleep(0.1)
    finally:
        close_in_process_clients()
