"""Events from a Kafka topic to durable rows in the embedded warehouse, in one run:

    python -m benchmarks.kafka_ingest [--events 300000]

- baseline: the same events inserted by one long-lived warehouse session in 5,000-row batches
  (no Kafka, no validation): what the embedded engine takes;
- the consumer alone (`recsys.streaming.consumer`, a Tansu broker on loopback, 2 partitions):
  from its first consumed message to the last event durable;
- the consumer while the API takes `POST /events` batches of 1,000 into the same warehouse
  (one writer at a time), and those posts' rate;
- `POST /events` batches of 1,000 alone.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks._util import free_port, start_api
from recsys.settings import Settings
from recsys.streaming.consumer import EventConsumer
from recsys.warehouse import source_tables
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations
from tests.kafka_broker import start_tansu

POST_BATCH = 1_000


def produce(bootstrap: str, topic: str, events: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for n in range(events):
        event = {"user_id": f"u{n % 5000}", "item_id": f"i{n % 3000}", "event_type": "view_start"}
        producer.produce(topic, json.dumps(event).encode(), key=event["user_id"].encode())
        if n % 20_000 == 0:
            producer.poll(0)
    producer.flush(120)


def home_with_schema(root: Path, name: str, **settings) -> Settings:
    home = Settings(home=root / name, mlflow_tracking_uri=None, kafka_metrics_port=0, **settings)
    with Warehouse.from_url(home.warehouse_url).session() as client:
        apply_migrations(client)
    return home


def baseline(settings: Settings, events: int) -> float:
    now = datetime.now(UTC)
    frames = [
        pd.DataFrame({
            "event_id": [f"b{start + n}" for n in range(5_000)],
            "user_id": [f"u{n % 5000}" for n in range(5_000)],
            "item_id": [f"i{n % 3000}" for n in range(5_000)],
            "event_type": "view_start", "value": None, "timestamp": now, "source": "baseline",
        })
        for start in range(0, events, 5_000)
    ]  # fmt: skip
    warehouse = Warehouse.from_url(settings.warehouse_url)
    started = time.perf_counter()
    with warehouse.session() as client:
        for frame in frames:
            source_tables.insert_events(client, frame)
    return events / (time.perf_counter() - started)


def consume(settings: Settings, events: int) -> float:
    """Events/s from the first message consumed to the last one durable."""
    consumer = EventConsumer(settings)
    thread = threading.Thread(target=consumer.run)
    thread.start()
    while consumer.status.consumed._value.get() == 0:
        time.sleep(0.005)
    started = time.perf_counter()
    while consumer.status.stored._value.get() < events:
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    consumer.stop.set()
    thread.join()
    return events / seconds


def post_batches(base_url: str, stop: threading.Event, counted: list[int]) -> None:
    with httpx.Client(base_url=base_url, timeout=120) as client:
        while not stop.is_set():
            batch = [{"user_id": f"p{n % 500}", "item_id": f"i{n % 300}", "event_type": "like",
                      "event_id": uuid.uuid4().hex} for n in range(POST_BATCH)]  # fmt: skip
            if client.post("/events", json={"events": batch}).status_code == 200:
                counted.append(POST_BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    port = free_port()
    broker = start_tansu(port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch)
            base = baseline(home_with_schema(root, "baseline"), args.events)
            print(f"baseline, one session inserting 5,000-row batches: {base:10,.0f} events/s")

            produce(bootstrap, "alone", args.events)
            alone = home_with_schema(root, "alone", kafka_bootstrap_servers=bootstrap,
                                     kafka_events_topic="alone", kafka_group="alone")  # fmt: skip
            rate = consume(alone, args.events)
            print(f"consumer alone:                   {rate:10,.0f} events/s "
                  f"({rate / base:.2f}x baseline)")  # fmt: skip

            produce(bootstrap, "shared", args.events)
            shared = home_with_schema(
                root, "shared", kafka_bootstrap_servers=bootstrap,
                kafka_events_topic="shared", kafka_group="shared",
            )  # fmt: skip
            api_port = free_port()
            api = start_api(shared.home, api_port)
            stop, posted = threading.Event(), []
            poster = threading.Thread(
                target=post_batches, args=(f"http://127.0.0.1:{api_port}", stop, posted)
            )
            try:
                started = time.perf_counter()
                poster.start()
                rate = consume(shared, args.events)
                stop.set()
                poster.join()
                api_rate = sum(posted) / (time.perf_counter() - started)
                print(f"consumer with POST /events:       {rate:10,.0f} events/s "
                      f"(the API meanwhile: {api_rate:,.0f} events/s)")  # fmt: skip
                posted.clear()
                stop.clear()
                poster = threading.Thread(
                    target=post_batches, args=(f"http://127.0.0.1:{api_port}", stop, posted)
                )
                started = time.perf_counter()
                poster.start()
                time.sleep(10)
                stop.set()
                poster.join()
                alone_rate = sum(posted) / (time.perf_counter() - started)
                print(f"POST /events batches alone:       {alone_rate:10,.0f} events/s")
            finally:
                api.terminate()
                api.wait(timeout=30)
    finally:
        broker.terminate()
        broker.wait(timeout=30)


if __name__ == "__main__":
    main()
