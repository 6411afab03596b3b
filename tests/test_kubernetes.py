"""The Kubernetes deployment files (deploy/helm): no cluster runs here, so they are checked for
what can be checked: they parse, every setting they set is one the code reads and accepts,
every name they reference exists, and the wiring they choose (the k8s_job_executor, steps'
values in an object store) is what the code location builds from those settings."""

import importlib
from pathlib import Path

import dagster as dg
import fsspec
import pytest
import yaml
from dagster_k8s import k8s_job_executor

from recsys.settings import Settings
from recsys_assets.definitions import build_definitions
from recsys_assets.jobs import RETRAIN_TAG, executor_named
from recsys_assets.resources import build_resources
from serving.app import create_app

ROOT = Path(__file__).resolve().parents[1]
DAGSTER_VALUES = yaml.safe_load((ROOT / "deploy/helm/dagster-values.yaml").read_text())
MANIFESTS = list(yaml.safe_load_all((ROOT / "deploy/helm/recsys.yaml").read_text()))


def _manifest(kind: str, name: str) -> dict:
    found = [m for m in MANIFESTS if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def _environment() -> dict[str, str]:
    return _manifest("ConfigMap", "recsys-env")["data"]


def _settings_from_manifests(monkeypatch) -> Settings:
    for name, value in _environment().items():
        monkeypatch.setenv(name, value)
    # From the secret the README asks for.
    monkeypatch.setenv("RECSYS_CLICKHOUSE_URL", "http://recsys:secret@clickhouse:8123/recsys")
    return Settings()


def test_every_setting_in_the_config_map_is_one_the_code_reads(monkeypatch):
    env_names = {
        alias
        for name, field in Settings.model_fields.items()
        for alias in (
            [f"RECSYS_{name.upper()}"] + list(getattr(field.validation_alias, "choices", []) or [])
        )
    }
    other = {"OTEL_EXPORTER_OTLP_ENDPOINT"}  # read by recsys.tracing and the OTel SDK
    unknown = set(_environment()) - env_names - other
    assert not unknown, f"settings nothing reads: {unknown}"
    settings = _settings_from_manifests(monkeypatch)
    assert settings.pipeline_executor == "k8s"
    assert settings.generation_buckets == 8
    assert settings.step_values_url.startswith("s3://")


def test_the_code_location_built_from_them_runs_steps_as_pods(monkeypatch):
    settings = _settings_from_manifests(monkeypatch)
    definitions = build_definitions(settings)
    assert definitions.resolve_job_def("full_pipeline").executor_def is k8s_job_executor
    io_manager = build_resources(settings)["io_manager"]
    assert io_manager.base_dir == settings.step_values_url
    assert executor_named("multiprocess") is dg.multiprocess_executor
    with pytest.raises(ValueError, match="in_process, multiprocess or k8s"):
        executor_named("celery")


def test_steps_hand_values_on_through_an_object_store_url(tmp_path):
    """The IO manager the settings build writes a step's value at the URL, through fsspec
    (here its in-memory filesystem; s3://, gs://... are the same code with their driver)."""

    @dg.asset
    def numbers() -> list[int]:
        return [1, 2, 3]

    @dg.asset
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    settings = Settings(home=tmp_path, step_values_url="memory://recsys-test/steps")
    io_manager = build_resources(settings)["io_manager"]
    result = dg.materialize([numbers, total], resources={"io_manager": io_manager})
    assert result.success and result.output_for_node("total") == 6
    assert fsspec.filesystem("memory").exists("/recsys-test/steps/numbers")


def test_the_dagster_chart_values_wire_our_code_location_and_run_queue():
    deployment = DAGSTER_VALUES["dagster-user-deployments"]["deployments"][0]
    module = deployment["dagsterApiGrpcArgs"][deployment["dagsterApiGrpcArgs"].index("-m") + 1]
    assert hasattr(importlib.import_module(module), "defs")
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    config_maps = {m["metadata"]["name"] for m in MANIFESTS if m["kind"] == "ConfigMap"}
    launcher = DAGSTER_VALUES["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    for source in (deployment, launcher["config"]["k8sRunLauncher"]):
        assert {ref["name"] for ref in source["envConfigMaps"]} <= config_maps
        assert {ref["name"] for ref in source["envSecrets"]} == {"recsys-secrets"}
    queue = DAGSTER_VALUES["dagsterDaemon"]["runCoordinator"]
    assert queue["type"] == "QueuedRunCoordinator"
    limits = queue["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": RETRAIN_TAG, "limit": 1} in limits
    # Dagster's storage in Postgres through psycopg2 (deploy/dagster.yaml says why).
    assert DAGSTER_VALUES["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"


def test_api_and_consumer_probes_ask_what_those_processes_answer():
    routes = set(create_app().openapi()["paths"])
    api = _manifest("Deployment", "recsys-api")["spec"]
    container = api["template"]["spec"]["containers"][0]
    assert api["replicas"] >= 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert {"/health/ready", "/health/live"} <= routes
    port = container["command"][container["command"].index("--port") + 1]
    assert container["ports"][0]["containerPort"] == int(port)

    consumer = _manifest("Deployment", "recsys-consumer")["spec"]["template"]["spec"]
    container = consumer["containers"][0]
    assert container["command"][-1] == "consume"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    metrics_port = int(_environment()["RECSYS_KAFKA_METRICS_PORT"])
    assert container["ports"][0]["containerPort"] == metrics_port


def test_the_documented_run_config_is_one_the_k8s_job_accepts(monkeypatch):
    """deploy/helm/pipeline-run-config.yaml against the job's own config schema (the k8s
    executor's step resources, the bucket count)."""
    job = build_definitions(_settings_from_manifests(monkeypatch)).resolve_job_def("full_pipeline")
    run_config = yaml.safe_load((ROOT / "deploy/helm/pipeline-run-config.yaml").read_text())
    dg.validate_run_config(job, run_config)
    run_config["execution"]["config"]["max_concurent"] = 8  # a misspelt key is refused
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, run_config)
