"""The consumer's /health and /metrics, and the librdkafka settings it passes through."""

import httpx

from recsys.streaming.consumer import client_config
from recsys.streaming.observability import LAGGING_MESSAGES, ConsumerStatus
from tests.conftest import free_port, small_settings


def test_health_says_connected_retrying_or_lagging_and_metrics_count(tmp_path):
    status = ConsumerStatus()
    port = free_port()
    status.serve(port, host="127.0.0.1")
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/health").status_code == 503  # starting: not joined yet
    status.set_state("connected")
    status.stored.inc(5)
    status.set_lags({0: 3, 1: 0})
    health = httpx.get(f"{base}/health")
    assert health.status_code == 200 and health.json()["lag"] == {"0": 3, "1": 0}
    status.set_lags({0: LAGGING_MESSAGES + 1})
    assert httpx.get(f"{base}/health").json()["status"] == "lagging"
    status.set_state("retrying", "kafka: all brokers down")
    down = httpx.get(f"{base}/health")
    assert down.status_code == 503 and "brokers down" in down.json()["reason"]
    metrics = httpx.get(f"{base}/metrics").text
    assert "recsys_consumer_events_stored_total 5.0" in metrics
    assert 'recsys_consumer_lag_messages{partition="0"} 10001.0' in metrics


def test_client_settings_pass_through_with_their_prefix(tmp_path):
    settings = small_settings(tmp_path, kafka_bootstrap_servers="k1:9092,k2:9092")
    config = client_config(
        settings,
        {
            "RECSYS_KAFKA_PROPERTY_SECURITY_PROTOCOL": "SASL_SSL",
            "RECSYS_KAFKA_PROPERTY_SASL_MECHANISM": "PLAIN",
            "RECSYS_KAFKA_PROPERTY_SSL_CA_LOCATION": "/etc/ca.pem",
            "RECSYS_KAFKA_PROPERTY_SOME__UNDERSCORED_NAME": "x",
            "UNRELATED": "y",
        },
    )
    assert config["bootstrap.servers"] == "k1:9092,k2:9092"
    assert config["enable.auto.commit"] is False and config["group.id"] == "recsys"
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanism"] == "PLAIN"
    assert config["ssl.ca.location"] == "/etc/ca.pem" and config["some_underscored.name"] == "x"
    assert "unrelated" not in config
