"""The consumer against a real Kafka-protocol broker (Tansu) and a real embedded warehouse:
every valid event stored once and every malformed message a dead letter, whatever moment the
consumer dies at; offsets committed only after the batch is durable."""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from recsys.settings import Settings
from recsys.streaming.consumer import EventConsumer
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations
from tests.conftest import small_settings

ROOT = Path(__file__).resolve().parents[3]
PARTITIONS = 2


def _topic(bootstrap: str, name: str) -> str:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics([NewTopic(name, num_partitions=PARTITIONS)])[name]
    future.result(timeout=30)  # the client must outlive its future, or the future fails
    return name


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for n, value in enumerate(values):
        producer.produce(topic, value=value, key=f"user-{n % 50}".encode())
    assert producer.flush(30) == 0


def _messages(count: int, bad_every: int = 10) -> tuple[list[bytes], int, int]:
    """`count` messages, every `bad_every`-th malformed: (values, valid, malformed)."""
    values, bad = [], 0
    for n in range(count):
        if n % bad_every == 0:
            teleport = {"user_id": f"u{n}", "item_id": "i1", "event_type": "teleport"}
            values.append(b"{broken" if n % 20 == 0 else json.dumps(teleport).encode())
            bad += 1
        else:
            values.append(json.dumps(
                {"user_id": f"user-{n % 50}", "item_id": f"i{n % 40}", "event_type": "view_start"}
            ).encode())  # fmt: skip
    return values, count - bad, bad


def _settings(tmp_path: Path, bootstrap: str, topic: str) -> Settings:
    settings = small_settings(
        tmp_path / "home",
        kafka_bootstrap_servers=bootstrap,
        kafka_events_topic=topic,
        kafka_group=f"group-{topic}",
        kafka_batch_size=500,
        kafka_metrics_port=0,
    )
    with Warehouse.from_url(settings.warehouse_url).session() as client:
        apply_migrations(client)
    return settings


def _counts(settings: Settings) -> dict[str, int]:
    with Warehouse.from_url(settings.warehouse_url).session() as client:

        def one(sql: str) -> int:
            return int(client.query(sql).result_rows[0][0])

        return {
            "stored": one("SELECT count() FROM events FINAL WHERE source = 'kafka'"),
            "identities": one(
                "SELECT uniqExact(user_id, event_id) FROM events WHERE source = 'kafka'"
            ),
            "rejected": one("SELECT count() FROM events_rejected FINAL"),
        }


def _consume_in_a_process(settings: Settings, crash_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "RECSYS_HOME": str(settings.home),
           "RECSYS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "RECSYS_KAFKA_EVENTS_TOPIC": settings.kafka_events_topic,
           "RECSYS_KAFKA_GROUP": settings.kafka_group, "RECSYS_KAFKA_BATCH_SIZE": "500",
           "RECSYS_KAFKA_METRICS_PORT": "0",
           # Passed through to librdkafka: a dead member's partitions move on sooner.
           "RECSYS_KAFKA_PROPERTY_SESSION_TIMEOUT_MS": "2000",
           "RECSYS_KAFKA_PROPERTY_HEARTBEAT_INTERVAL_MS": "300"}  # fmt: skip
    # The crash point is the test's own consumer process; production code reads no test hook.
    command = ["-m", "tests.recsys.streaming.crashing_consumer", crash_at] if crash_at else [
        "-m", "recsys_launcher.cli", "consume", "--idle-exit", "2"]  # fmt: skip
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _loaded(broker: str, tmp_path: Path, topic: str, count: int) -> tuple[Settings, int, int]:
    """A topic holding `count` messages and a fresh home to consume it into: (settings, valid
    events, malformed messages)."""
    _topic(broker, topic)
    values, valid, bad = _messages(count)
    _produce(broker, topic, values)
    return _settings(tmp_path, broker, topic), valid, bad


def _resume_and_check(settings: Settings, valid: int, bad: int) -> None:
    """Restart the consumer; every valid event is stored once, every malformed one rejected."""
    resumed = _consume_in_a_process(settings)
    output = resumed.communicate(timeout=300)[0]
    assert resumed.returncode == 0, output
    assert _counts(settings) == {"stored": valid, "identities": valid, "rejected": bad}


def test_valid_events_are_stored_once_and_malformed_ones_are_dead_letters(
    kafka_broker: str, tmp_path: Path
):
    settings, valid, bad = _loaded(kafka_broker, tmp_path, "plain", 1_200)
    consumer = EventConsumer(settings)
    consumer.run(idle_exit_seconds=2)
    assert _counts(settings) == {"stored": valid, "identities": valid, "rejected": bad}
    assert consumer.status.stored._value.get() == valid  # the metrics say the same
    # Offsets were committed: the group's next consumer finds nothing left to store.
    again = EventConsumer(settings)
    again.run(idle_exit_seconds=2)
    assert again.status.consumed._value.get() == 0


@pytest.mark.parametrize("crash_at", ["built", "stored"])
def test_a_crash_at_a_fixed_point_loses_nothing_and_stores_nothing_twice(
    kafka_broker: str, tmp_path: Path, crash_at: str
):
    settings, valid, bad = _loaded(kafka_broker, tmp_path, f"crash-{crash_at}", 1_500)
    crashed = _consume_in_a_process(settings, crash_at)
    output = crashed.communicate(timeout=300)[0]
    assert crashed.returncode == 3, output  # the hook's exit: mid-batch, or stored uncommitted
    if crash_at == "stored":
        assert _counts(settings)["stored"] > 0  # the batch was durable, its offsets not
    _resume_and_check(settings, valid, bad)


def test_a_sigkill_at_a_random_moment_loses_nothing(kafka_broker: str, tmp_path: Path):
    settings, valid, bad = _loaded(kafka_broker, tmp_path, "sigkill", 20_000)
    victim = _consume_in_a_process(settings)
    time.sleep(random.Random().uniform(3.0, 8.0))  # any moment: the assertion holds for all
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    _resume_and_check(settings, valid, bad)


def test_the_retrain_sensor_fires_on_kafka_fed_events(
    kafka_broker: str, published: Settings, tmp_path: Path
):
    import dagster as dg

    from recsys_assets.definitions import build_definitions
    from tests.conftest import copy_home

    topic = _topic(kafka_broker, "retrain")
    home = copy_home(published, tmp_path / "home").model_copy(
        update={"kafka_bootstrap_servers": kafka_broker, "kafka_events_topic": topic,
                "kafka_group": "retrain", "kafka_metrics_port": 0, "retrain_threshold": 30}
    )  # fmt: skip
    defs = build_definitions(home)
    sensor = defs.resolve_sensor_def("retrain_on_new_events")
    with dg.instance_for_test() as instance:

        def tick(cursor):
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, sensor_name=sensor.name,
                resources={"warehouse": defs.resources["warehouse"]},
            )  # fmt: skip
            return sensor(context)

        quiet = tick(None)
        assert quiet.run_requests == []
        values, valid, _ = _messages(40, bad_every=1_000)  # one malformed message, 39 events
        _produce(kafka_broker, topic, values)
        EventConsumer(home).run(idle_exit_seconds=2)
        (request,) = tick(quiet.cursor).run_requests
        assert valid == 39 and request.tags["recsys/trigger"] == "new_events"


def test_sigterm_stores_and_commits_the_batch_in_hand_then_exits(kafka_broker: str, tmp_path: Path):
    settings, valid, bad = _loaded(kafka_broker, tmp_path, "sigterm", 20_000)
    stopping = _consume_in_a_process(settings)
    deadline = time.monotonic() + 120
    while _counts(settings)["stored"] == 0:  # wait until it is storing, whatever the timing
        assert stopping.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    stopping.send_signal(signal.SIGTERM)
    output = stopping.communicate(timeout=120)[0]
    assert stopping.returncode == 0 and "stopped (every stored batch committed)" in output
    _resume_and_check(settings, valid, bad)


def test_a_broker_that_is_down_is_retried_and_consuming_resumes_when_it_is_up(tmp_path: Path):
    from tests.conftest import free_port, tansu_or_skip
    from tests.kafka_broker import start_tansu

    port = free_port()
    settings = _settings(tmp_path, f"127.0.0.1:{port}", "later")
    consumer = EventConsumer(settings)
    runner = threading.Thread(target=consumer.run)
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while consumer.status.state != "retrying":  # librdkafka's connection errors arrive
            assert runner.is_alive() and time.monotonic() < deadline, consumer.status.health()
            time.sleep(0.1)
        assert "kafka" in consumer.status.reason
        broker = start_tansu(port, Path(tansu_or_skip()))
        try:
            _topic(settings.kafka_bootstrap_servers, "later")
            values, valid, bad = _messages(300)
            _produce(settings.kafka_bootstrap_servers, "later", values)
            deadline = time.monotonic() + 120
            while consumer.status.stored._value.get() < valid:
                assert runner.is_alive() and time.monotonic() < deadline, consumer.status.health()
                time.sleep(0.1)
        finally:
            consumer.stop.set()
            runner.join(timeout=60)
            broker.terminate()
            broker.wait(timeout=30)
    finally:
        consumer.stop.set()
    assert _counts(settings) == {"stored": valid, "identities": valid, "rejected": bad}


def test_a_busy_warehouse_holds_the_batch_until_it_can_be_stored(kafka_broker: str, tmp_path: Path):
    from tests.conftest import warehouse_held_elsewhere

    settings, valid, bad = _loaded(kafka_broker, tmp_path, "busy", 600)
    settings = settings.model_copy(update={"lock_timeout_seconds": 0.5})
    consumer = EventConsumer(settings)
    runner = threading.Thread(target=consumer.run, kwargs={"idle_exit_seconds": 3})
    with warehouse_held_elsewhere(settings.warehouse_url) as release:
        runner.start()
        deadline = time.monotonic() + 120
        while consumer.status.state != "retrying":  # another process holds the warehouse
            assert runner.is_alive() and time.monotonic() < deadline, consumer.status.health()
            time.sleep(0.1)
        assert (
            consumer.status.reason.startswith("warehouse")
            and consumer.status.stored._value.get() == 0
        )
        release()
        runner.join(timeout=300)
    assert not runner.is_alive()
    assert _counts(settings) == {"stored": valid, "identities": valid, "rejected": bad}


def test_the_items_topic_changes_the_catalogue_and_events_about_withdrawn_items_are_refused(
    kafka_broker: str, tmp_path: Path
):
    events_topic = _topic(kafka_broker, "events-catalogue")
    items_topic = _topic(kafka_broker, "items-catalogue")
    settings = _settings(tmp_path, kafka_broker, events_topic).model_copy(
        update={"kafka_items_topic": items_topic}
    )
    item = {"title": "Old", "genres": ["Drama"], "tags": [], "year": 1999}
    _produce(kafka_broker, items_topic, [
        json.dumps({"item_id": "keep", **item}).encode(),
        json.dumps({"item_id": "gone", **item}).encode(),
        json.dumps({"item_id": "keep", **item, "title": "New"}).encode(),  # the last one wins
        b"{not json",
        json.dumps({"item_id": "no-title"}).encode(),
    ])  # fmt: skip
    EventConsumer(settings).run(idle_exit_seconds=2)
    _produce(kafka_broker, items_topic, [json.dumps({"item_id": "gone", "deleted": True}).encode()])
    EventConsumer(settings).run(idle_exit_seconds=2)
    about = {"user_id": "u1", "event_type": "like"}
    _produce(kafka_broker, events_topic, [
        json.dumps({**about, "item_id": "keep"}).encode(),
        json.dumps({**about, "item_id": "gone"}).encode(),
    ])  # fmt: skip
    EventConsumer(settings).run(idle_exit_seconds=2)

    with Warehouse.from_url(settings.warehouse_url).session() as client:
        items = dict(client.query("SELECT item_id, (title, deleted) FROM items FINAL").result_rows)
        stored = client.query("SELECT item_id FROM events FINAL").result_columns[0]
        reasons = client.query("SELECT reason FROM events_rejected ORDER BY reason").result_columns
    assert items == {"keep": ("New", 0), "gone": ("Old", 1)}  # a tombstone keeps the title
    assert list(stored) == ["keep"]
    assert [r.split(":")[0] for r in reasons[0]] == [
        "item_id 'gone' is deleted",
        "not an item",
        "not an item",
    ]
