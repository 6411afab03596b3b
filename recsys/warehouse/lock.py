"""An inter-process lock with a bounded wait and no starvation, for the embedded warehouse.

chDB lets only one process at a time open a data directory, while the Dagster UI, daemon, run
workers and the API are separate processes. Every process therefore takes this lock, opens a
short-lived client, does a small unit of work and closes it again.

Fairness matters: a process that releases the lock and at once asks again (a loop of inserts)
would otherwise win every race against waiters that poll. So a waiter first takes a turnstile
lock and holds it while it waits for the main lock; whoever releases the main lock must pass the
turnstile to get it back, and so queues behind the waiter that is already in line.
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WarehouseBusyError(TimeoutError):
    """The embedded warehouse stayed locked by another process for longer than allowed."""


class FileLock:
    """An exclusive `flock` on one file, re-entrant within the thread that holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.turnstile_path = path.with_name(path.name + ".queue")
        # flock already excludes other open file descriptions, including other threads of this
        # process; the thread lock only keeps threads from spinning on the file.
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def hold(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        if not self._thread_lock.acquire(timeout=timeout):
            raise WarehouseBusyError(
                f"another thread of this process held {self.path} for more than {timeout:.0f} s"
            )
        try:
            if self._depth == 0:
                self._fd = self._acquire(deadline, timeout)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None
        finally:
            self._thread_lock.release()

    @property
    def held(self) -> bool:
        return self._depth > 0

    def _acquire(self, deadline: float, timeout: float) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        turnstile = os.open(self.turnstile_path, os.O_RDWR | os.O_CREAT, 0o644)
        main = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if _wait_for(turnstile, deadline) and _wait_for(main, deadline):
                return main
        finally:
            os.close(turnstile)  # lets the next in line through (it now waits for `main`)
        os.close(main)
        raise WarehouseBusyError(
            f"the embedded warehouse lock {self.path} was held by another process "
            f"for more than {timeout:.0f} s"
        )


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _wait_for(fd: int, deadline: float) -> bool:
    delay = 0.001
    while not _try_lock(fd):
        if time.monotonic() >= deadline:
            return False
        # Jittered backoff so that several waiting processes do not wake in lockstep.
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.01)
    return True
