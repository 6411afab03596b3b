import multiprocessing
import time
from pathlib import Path

import pytest

from recsys.warehouse.lock import FileLock, WarehouseBusyError


def _hold_lock(path: str, seconds: float, ready) -> None:
    with FileLock(Path(path)).hold(timeout=5):
        ready.set()
        time.sleep(seconds)


def test_waiter_gives_up_with_a_clear_error_after_its_bound(tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_lock, args=(str(tmp_path / "w.lock"), 3.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        waiter = FileLock(tmp_path / "w.lock")
        with (
            pytest.raises(WarehouseBusyError, match="held by another process"),
            waiter.hold(timeout=0.3),
        ):
            pass
        assert time.monotonic() - started < 2.0
    finally:
        holder.join()


def test_waiter_gets_the_lock_once_the_holder_releases(tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_lock, args=(str(tmp_path / "w.lock"), 0.5, ready))
    holder.start()
    try:
        assert ready.wait(30)
        started = time.monotonic()
        with FileLock(tmp_path / "w.lock").hold(timeout=10):
            waited = time.monotonic() - started
        assert 0.1 < waited < 10  # it waited for the holder, then got the lock
    finally:
        holder.join()
    assert holder.exitcode == 0


def test_lock_is_reentrant_within_a_thread(tmp_path: Path):
    lock = FileLock(tmp_path / "w.lock")
    with lock.hold(timeout=1), lock.hold(timeout=1):
        assert lock.held
    assert not lock.held
