"""Progress lines for long steps: how much is done, of how much, and at what rate."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    """Logs `what: done/total unit (rate unit/s)` at most every `every_seconds`, and at the end.

    Call it with the running count; `detail` adds a note (the bucket, the current chunk...).
    """

    def __init__(
        self,
        log: Callable[[str], None],
        what: str,
        total: int | None = None,
        unit: str = "rows",
        every_seconds: float = 5.0,
    ) -> None:
        self.log = log
        self.what = what
        self.total = total
        self.unit = unit
        self.every_seconds = every_seconds
        self.started = time.perf_counter()
        self._last_logged = float("-inf")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, done: int, detail: str = "") -> None:
        now = time.perf_counter()
        finished = self.total is not None and done >= self.total
        if not finished and now - self._last_logged < self.every_seconds:
            return
        self._last_logged = now
        rate = done / max(now - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total is not None else ""
        note = f"; {detail}" if detail else ""
        # Slow units (ALS sweeps) need decimals; fast ones (rows) read better without.
        speed = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        self.log(f"{self.what}: {done:,}{of} {self.unit} ({speed} {self.unit}/s){note}")
