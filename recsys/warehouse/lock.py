"""An inter-process lock with a bounded wait and no starvation, for the embedded warehouse.

chDB lets only one process at a time open a data directory, while the Dagster UI, daemon, run
workers and the API are separate processes. A process takes this lock before it opens the
engine and gives it back after closing it.

Fairness matters: a process that releases the lock and at once asks again (a loop of inserts)
would otherwise win every race against waiters that poll. So a waiter first takes a turnstile
lock and holds it while it waits for the main lock: whoever releases the main lock must pass the
turnstile to get it back, so it queues behind the waiter already in line. The turnstile also
tells a holder that somebody is waiting (`has_waiters`), so it can let go early.
"""

from __future__ import annotations

import fcntl
import os
import random
import time
from pathlib import Path


class WarehouseBusyError(TimeoutError):
    """The embedded warehouse stayed locked by another process for longer than allowed."""


class FileLock:
    """An exclusive, process-wide `flock` on one file. Callers serialise their own threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.turnstile_path = path.with_name(path.name + ".queue")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this process")
        deadline = time.monotonic() + timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        turnstile = os.open(self.turnstile_path, os.O_RDWR | os.O_CREAT, 0o644)
        main = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if _wait_for(turnstile, deadline) and _wait_for(main, deadline):
                self._fd = main
                return
        finally:
            os.close(turnstile)  # lets the next in line through (it now waits for `main`)
        os.close(main)
        raise WarehouseBusyError(
            f"the embedded warehouse lock {self.path} was held by another process "
            f"for more than {timeout:.0f} s"
        )

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def has_waiters(self) -> bool:
        """True when another process stands in the turnstile, waiting for this lock.

        Also True when the turnstile cannot be opened (its folder was removed): a holder that
        cannot tell whether somebody waits should let go.
        """
        try:
            fd = os.open(self.turnstile_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return True
        try:
            if _try_lock(fd):
                fcntl.flock(fd, fcntl.LOCK_UN)
                return False
            return True
        finally:
            os.close(fd)


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
