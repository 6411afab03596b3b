"""What the API showed: every list it answers is recorded as one `impressions` row, written off
the request path.

A request only appends a tuple to a bounded queue (no lock, no I/O); a background thread writes
what gathered every `flush_seconds` in one insert. A full queue (the warehouse slower than the
traffic, or unreachable) drops the list and counts it: a response is never held up for logging.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

from recsys.warehouse.connection import Warehouse

log = logging.getLogger(__name__)

COLUMNS = (
    "request_id", "user_id", "surface", "items", "model_version", "experiment", "variant",
    "shown_at",
)  # fmt: skip


class ImpressionLog:
    def __init__(self, warehouse: Warehouse, capacity: int, flush_seconds: float) -> None:
        self.warehouse = warehouse
        self.capacity = capacity
        self.flush_seconds = flush_seconds
        self.written = 0  # lists stored
        self.dropped = 0  # lists lost: queue full, or a write that kept failing
        self._queue: deque[tuple] = deque()
        self._drops = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        request_id: str,
        user_id: str,
        surface: str,
        items: Sequence[str],
        model_version: str,
        experiment: str = "",
        variant: str = "",
    ) -> None:
        """Queue one list shown (called on the request path: cheap, never blocks)."""
        if len(self._queue) >= self.capacity:
            with self._drops:
                self.dropped += 1
            return
        self._queue.append(
            (request_id, user_id, surface, items, model_version, experiment, variant, time.time())
        )

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="impression-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Write every queued list in one insert; returns how many were written."""
        batch = []
        while self._queue:
            *row, shown_at = self._queue.popleft()
            batch.append((*row, datetime.fromtimestamp(shown_at, UTC)))
        if not batch:
            return 0
        try:
            with self.warehouse.session() as client:
                client.insert("impressions", _storable(batch), column_names=list(COLUMNS))
        except Exception:  # the warehouse down or busy past the lock timeout: lose, count
            log.exception("writing %d impression lists failed; they are dropped", len(batch))
            with self._drops:
                self.dropped += len(batch)
            return 0
        self.written += len(batch)
        return len(batch)


def _storable(batch: list[tuple]) -> list[tuple]:
    """The batch with any id that is not valid UTF-8 text (a lone surrogate from a client)
    kept as its bytes, so one odd id never loses the lists around it."""
    try:
        for row in batch:
            row[1].encode("utf-8")
        return batch
    except UnicodeEncodeError:
        return [(r[0], r[1].encode("utf-8", "surrogatepass"), *r[2:]) for r in batch]
