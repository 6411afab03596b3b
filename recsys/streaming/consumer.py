"""The Kafka consumer: messages -> durable events (and dead letters) -> committed offsets.

Offsets are committed only after the batch they cover is durable in ClickHouse, so a crash at
any moment redelivers at most the batch in hand; redelivered messages decode to the same events
(`recsys.streaming.messages`), and `events` keeps one row per `(user_id, event_id)`. Decoding the
next batch overlaps with writing the previous one (one writer thread, one batch in flight); the
Kafka client itself is only used from the consuming thread, which commits what the writer has
stored (a synchronous commit from another thread while `consume` blocks can hang).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, TopicPartition

from recsys import tracing
from recsys.catalogue.lifecycle import Availability, from_rows
from recsys.settings import Settings
from recsys.streaming.item_messages import decode_items
from recsys.streaming.messages import Record, decode
from recsys.streaming.observability import ConsumerStatus
from recsys.warehouse import dead_letters, item_reads, item_writes, source_tables
from recsys.warehouse.connection import Warehouse
from recsys.warehouse.faults import unavailable_reason

log = logging.getLogger(__name__)

PROPERTY_PREFIX = "RECSYS_KAFKA_PROPERTY_"
POLL_SECONDS = 0.5
LAG_EVERY_SECONDS = 5.0


def client_config(settings: Settings, environ: dict[str, str] | None = None) -> dict:
    """librdkafka settings: ours, then RECSYS_KAFKA_PROPERTY_<NAME> ("_" -> ".", "__" -> "_")."""
    environ = os.environ if environ is None else environ
    config = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "group.id": settings.kafka_group,
        "enable.auto.commit": False,  # committed after the batch is durable, never before
        "auto.offset.reset": "earliest",
        # Joining the group in seconds, not the default's tens of seconds (measured against a
        # local broker: 3.2 s with these, 23 s with librdkafka's defaults).
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    }
    for name, value in environ.items():
        if name.startswith(PROPERTY_PREFIX):
            key = name.removeprefix(PROPERTY_PREFIX).lower()
            config[key.replace("__", "\0").replace("_", ".").replace("\0", "_")] = value
    return config


@dataclass
class Batch:
    records: list[Record]
    started: float
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to read


class EventConsumer:
    def __init__(
        self,
        settings: Settings,
        warehouse: Warehouse | None = None,
        status=None,
        checkpoint: Callable[[str], None] = lambda name: None,
    ) -> None:
        """`checkpoint` is told of each batch's two fragile moments: "built" (half decoded)
        and "stored" (inserted, offsets not yet committed); a test crashes the process there."""
        self.settings = settings
        self.warehouse = warehouse or Warehouse.from_url(
            settings.warehouse_url,
            lock_timeout=settings.lock_timeout_seconds,
            cluster=settings.clickhouse_cluster,
        )
        self.status = status or ConsumerStatus()
        self.stop = threading.Event()
        self.checkpoint = checkpoint
        self._pending: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._stored: queue.Queue[Batch] = queue.Queue()  # durable, offsets not yet committed
        self._failure: BaseException | None = None
        self._writer_done = threading.Event()
        self._last_news: float | None = None  # the last assignment or message

    def _assigned(self) -> None:
        self._last_news = time.monotonic()
        self.status.set_state("connected")

    def run(self, idle_exit_seconds: float | None = None) -> None:
        """Consume until `stop` is set (SIGTERM, Ctrl+C), or, with `idle_exit_seconds`, until
        that long passes with nothing new (tests, backfills)."""
        consumer = Consumer(client_config(self.settings), error_cb=self._on_error, logger=log)
        consumer.subscribe(
            [self.settings.kafka_events_topic, self.settings.kafka_items_topic],
            on_assign=lambda _, partitions: self._assigned(),
        )
        writer = threading.Thread(target=self._write_loop, name="writer")
        writer.start()
        last_lag = 0.0
        try:
            while not self.stop.is_set() and self._failure is None:
                self._commit_stored(consumer)
                batch = self._next_batch(consumer)
                if batch is not None:
                    self._last_news = time.monotonic()
                    self._hand_over(batch)  # waits while the previous batch is written
                elif idle_exit_seconds is not None and (
                    # Idle counts from the partitions' assignment: joining takes seconds.
                    self._last_news is not None
                    and time.monotonic() - self._last_news > idle_exit_seconds
                ):
                    break
                if time.monotonic() - last_lag > LAG_EVERY_SECONDS:
                    self._measure_lag(consumer)
                    last_lag = time.monotonic()
        finally:
            self._hand_over(None)  # the writer finishes the batch in hand and stops
            writer.join()
            self._commit_stored(consumer)
            consumer.close()
        if self._failure is not None:
            raise self._failure

    def _hand_over(self, batch: Batch | None) -> None:
        """Queue `batch` (None: stop) for the writer, unless the writer has stopped."""
        while not self._writer_done.is_set():
            try:
                self._pending.put(batch, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _next_batch(self, consumer: Consumer) -> Batch | None:
        messages = consumer.consume(self.settings.kafka_batch_size, timeout=POLL_SECONDS)
        batch = Batch([], time.monotonic())
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", error)
                continue
            if len(batch.records) == len(messages) // 2:
                self.checkpoint("built")
            _, timestamp_ms = message.timestamp()
            batch.records.append(
                Record(
                    message.topic(),
                    message.partition(),
                    message.offset(),
                    message.value(),
                    timestamp_ms,
                )
            )
            batch.offsets[(message.topic(), message.partition())] = message.offset() + 1
        if not batch.records:
            return None
        if self.status.state in ("starting", "retrying"):
            self.status.set_state("connected")
        self.status.consumed.inc(len(batch.records))
        return batch

    def _write_loop(self) -> None:
        try:
            while (batch := self._pending.get()) is not None:
                if not self._write(batch):
                    return  # a batch left unstored: nothing after it may be committed
        except BaseException as error:  # the main loop stops and re-raises it
            self._failure = error
            self.stop.set()
        finally:
            self._writer_done.set()

    def _write(self, batch: Batch) -> bool:
        """Store the batch (retrying while the warehouse is unavailable); False if stopping
        left it unstored."""
        with tracing.span(
            "consumer batch", **{"messaging.batch.message_count": len(batch.records)}
        ):
            return self._store(batch)

    def _store(self, batch: Batch) -> bool:
        items_topic = self.settings.kafka_items_topic
        changes = decode_items([r for r in batch.records if r.topic == items_topic])
        event_records = [r for r in batch.records if r.topic != items_topic]
        wait = 1.0
        while True:
            try:
                with self.warehouse.session() as client:
                    # Items first: an event in the same batch sees the catalogue as it is now.
                    if changes:
                        item_writes.upsert(client, changes.upserts)
                        item_writes.tombstone(client, changes.deletions)
                    lifecycles = (
                        from_rows(item_reads.lifecycle_rows(client)) if event_records else {}
                    )
                    decoded = decode(
                        event_records,
                        self.settings.quality_epoch,
                        datetime.now(UTC),
                        Availability(lifecycles).problem,
                    )
                    stored = source_tables.insert_events(client, decoded.events)
                    dead_letters.record(client, [*changes.rejected, *decoded.rejected])
                if changes:
                    self.warehouse.notify_changed("catalogue")
                break
            except Exception as error:
                reason = unavailable_reason(error)
                if reason is None:
                    raise
                if self.stop.is_set():  # stopping: leave it uncommitted, it is redelivered
                    log.warning("stopping with a batch not stored (%s): redelivered later", reason)
                    return False
                # Busy, unreachable, read-only or full: keep the batch, retry, never skip it.
                log.warning(
                    "warehouse unavailable (%s); retrying the batch in %.0f s", reason, wait
                )
                self.status.set_state("retrying", f"warehouse: {reason}")
                time.sleep(wait)
                wait = min(wait * 2, 30.0)
        self.checkpoint("stored")
        self._stored.put(batch)
        if self.status.state == "retrying":
            self.status.set_state("connected")
        self.status.stored.inc(stored)
        self.status.rejected.inc(len(decoded.rejected) + len(changes.rejected))
        self.status.batch_seconds.observe(time.monotonic() - batch.started)
        return True

    def _commit_stored(self, consumer: Consumer) -> None:
        """Commit the offsets of every batch the writer has made durable, in one request."""
        offsets: dict[tuple[str, int], int] = {}
        while not self._stored.empty():
            for key, offset in self._stored.get().offsets.items():
                offsets[key] = max(offset, offsets.get(key, 0))
        if offsets:
            consumer.commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )

    def _measure_lag(self, consumer: Consumer) -> None:
        try:
            consumer.list_topics(
                self.settings.kafka_events_topic, timeout=2.0
            )  # the broker answers
            if self.status.state == "retrying" and self.status.reason.startswith("kafka"):
                self.status.set_state("connected")
            assigned = consumer.assignment()
            positions = consumer.position(assigned) if assigned else []
        except Exception as error:  # the broker went away: health says so, consuming retries
            self._on_error(error)
            return
        lags = {}
        for partition in positions:
            _, high = consumer.get_watermark_offsets(partition, cached=True)
            position = partition.offset if partition.offset >= 0 else 0
            lags[partition.partition] = max(0, high - position) if high >= 0 else 0
        self.status.set_lags(lags)

    def _on_error(self, error) -> None:
        # librdkafka reconnects with backoff itself; we say so in the log and in health.
        log.warning("kafka: %s", error)
        self.status.set_state("retrying", f"kafka: {error}")
