"""`python -m recsys consume`: the consumer as a process, stopped cleanly by SIGTERM or Ctrl+C
(the batch in hand is stored and committed first)."""

from __future__ import annotations

import logging
import signal

from recsys import tracing
from recsys.settings import Settings
from recsys.streaming.consumer import EventConsumer
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.migrations import apply_migrations


def consume(settings: Settings, idle_exit_seconds: float | None = None) -> int:
    if not settings.kafka_bootstrap_servers:
        print("recsys consume: set RECSYS_KAFKA_BOOTSTRAP_SERVERS (host:port,...)")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    tracing.configure("recsys-consumer")
    warehouse = Warehouse.from_url(
        settings.warehouse_url,
        lock_timeout=settings.lock_timeout_seconds,
        cluster=settings.clickhouse_cluster,
    )
    with warehouse.session() as client:
        apply_migrations(client, warehouse.cluster)
    consumer = EventConsumer(settings, warehouse)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: consumer.stop.set())
    if settings.kafka_metrics_port:
        consumer.status.serve(settings.kafka_metrics_port)
    print(
        f"recsys consume: {settings.kafka_events_topic} on {settings.kafka_bootstrap_servers} "
        f"(group {settings.kafka_group}); metrics and health on :{settings.kafka_metrics_port}",
        flush=True,
    )
    consumer.run(idle_exit_seconds)
    print("recsys consume: stopped (every stored batch committed)", flush=True)
    return 0
