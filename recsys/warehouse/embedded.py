"""The embedded (chDB) engine of one data directory, shared by every thread of a process.

Opening the engine costs about 0.1 s, so a process that has just finished a unit of work keeps
the engine open ("parked") for a short while in case more work follows: a loop of inserts, the
next chunk of a load, the API's next batch of events. It lets go as soon as another process
waits for the lock (seen through the lock's turnstile), or after `linger` idle seconds. A
process that waits therefore loses at most a few milliseconds to the parked one, while a busy
process with nobody waiting pays the open cost once instead of per unit of work.

chDB also allows one open data directory per process, so opening one directory first closes
any other that this process has parked.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from clickhouse_connect.driver.client import Client

from recsys.warehouse.lock import FileLock, WarehouseBusyError

JANITOR_INTERVAL = 0.005
OPEN_RETRY_SECONDS = 10.0
log = logging.getLogger(__name__)


class EmbeddedEngine:
    """Lock, client and parking state of one data directory in this process."""

    _registry: dict[Path, EmbeddedEngine] = {}
    _registry_guard = threading.Lock()

    def __init__(self, path: Path, opener: Callable[[Path], Client]) -> None:
        self.path = path
        self.linger = 0.0
        self._opener = opener
        self._lock = FileLock(Path(f"{path}.lock"))
        self._guard = threading.RLock()  # one thread at a time uses the client
        self._depth = 0
        self._client: Client | None = None
        self._last_used = 0.0

    @classmethod
    def for_path(cls, path: Path, opener: Callable[[Path], Client]) -> EmbeddedEngine:
        with cls._registry_guard:
            engine = cls._registry.get(path)
            if engine is None:
                engine = cls._registry[path] = cls(path, opener)
            return engine

    @contextmanager
    def session(self, timeout: float) -> Iterator[Client]:
        deadline = time.monotonic() + timeout
        if not self._guard.acquire(timeout=timeout):
            raise WarehouseBusyError(
                f"another thread of this process used {self.path} for more than {timeout:.0f} s"
            )
        try:
            if self._depth == 0:
                self._ensure_open(deadline, timeout)
            self._depth += 1
            try:
                yield self._client
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._last_used = time.monotonic()
                    if self.linger > 0:
                        _janitor.watch(self)
                    else:
                        self._close()
        finally:
            self._guard.release()

    def _ensure_open(self, deadline: float, timeout: float) -> None:
        if self._client is not None and self._lock.has_waiters():
            self._close()  # somebody is queued: let them in, then queue like everyone else
        if self._client is not None:
            return
        _close_other_engines(self)
        self._lock.acquire(max(deadline - time.monotonic(), 0.001))
        try:
            self._client = self._open_with_retries(deadline)
        except BaseException:
            self._lock.release()
            raise

    def _open_with_retries(self, deadline: float) -> Client:
        """Open the engine; retry briefly if the previous holder's engine is still shutting down.

        chDB reports "Error initializing EmbeddedServer" while another engine holds the
        directory. Under the lock that can only be the previous holder finishing its close, so
        a short bounded retry (inside the caller's deadline) rides it out.
        """
        deadline = min(deadline, time.monotonic() + OPEN_RETRY_SECONDS)
        delay = 0.02
        while True:
            try:
                return self._opener(self.path)
            except Exception as error:
                busy = "EmbeddedServer" in str(error)
                if not busy or time.monotonic() + delay > deadline:
                    raise
                log.warning("chDB engine at %s not yet released; retrying (%s)", self.path, error)
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def release_if_idle(self, force: bool = False) -> bool:
        """Close a parked engine that somebody waits for, or that idled past `linger`."""
        acquired = self._guard.acquire(timeout=5) if force else self._guard.acquire(blocking=False)
        if not acquired:
            return False
        try:
            if self._client is None or self._depth:
                return self._client is None
            if (
                force
                or self._lock.has_waiters()
                or (time.monotonic() - self._last_used >= self.linger)
            ):
                self._close()
                return True
            return False
        finally:
            self._guard.release()

    @property
    def parked(self) -> bool:
        return self._client is not None and self._depth == 0

    def _close(self) -> None:
        client, self._client = self._client, None
        try:
            if client is not None:
                client.close()
        finally:
            self._lock.release()


def release_parked_engines() -> None:
    """Let go of every parked engine in this process (another data path is about to open)."""
    _close_other_engines(None)


def _close_other_engines(opening: EmbeddedEngine | None) -> None:
    with EmbeddedEngine._registry_guard:
        others = [e for e in EmbeddedEngine._registry.values() if e is not opening]
    for engine in others:
        if engine._client is None:
            continue
        if not engine.release_if_idle(force=True) and engine._client is not None:
            raise RuntimeError(
                f"chDB opens one data directory per process: {engine.path} is in use here, "
                f"so {opening.path} cannot be opened"
            )


class _Janitor:
    """One daemon thread per process that closes parked engines when they should let go."""

    def __init__(self) -> None:
        self._watched: set[EmbeddedEngine] = set()
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, engine: EmbeddedEngine) -> None:
        with self._guard:
            self._watched.add(engine)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="warehouse-janitor", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(JANITOR_INTERVAL)
            with self._guard:
                watched = list(self._watched)
            for engine in watched:
                try:
                    released = engine.release_if_idle()
                except Exception:  # keep the janitor alive: other engines still need it
                    log.exception("closing the parked engine at %s failed", engine.path)
                    released = True
                if released:
                    with self._guard:
                        if not engine.parked:
                            self._watched.discard(engine)
            with self._guard:
                if not self._watched:
                    self._wake.clear()

    def close_all(self) -> None:
        with self._guard:
            watched = list(self._watched)
        for engine in watched:
            engine.release_if_idle(force=True)


_janitor = _Janitor()
atexit.register(_janitor.close_all)
