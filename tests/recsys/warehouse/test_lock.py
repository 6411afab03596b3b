import multiprocessing
import time
from pathlib import Path

import pytest

from recsys.warehouse.lock import FileLock, WarehouseBusyError


def _hold_lock(path: str, seconds: float, ready) -> None:
    lock = FileLock(Path(path))
    lock.acquire(timeout=5)
    ready.set()
    time.sleep(seconds)
    lock.release()


def _start_holder(tmp_path: Path, seconds: float):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_lock, args=(str(tmp_path / "w.lock"), seconds, ready))
    holder.start()
    assert ready.wait(30)
    return holder


def test_waiter_gives_up_with_a_clear_error_after_its_bound(tmp_path: Path):
    holder = _start_holder(tmp_path, 3.0)
    try:
        waiter = FileLock(tmp_path / "w.lock")
        started = time.monotonic()
        with pytest.raises(WarehouseBusyError, match="held by another process"):
            waiter.acquire(timeout=0.3)
        assert time.monotonic() - started < 2.0
        assert not waiter.held
    finally:
        holder.join()


def test_waiter_is_seen_by_the_holder_and_gets_the_lock_once_released(tmp_path: Path):
    holder = _start_holder(tmp_path, 1.0)
    try:
        started = time.monotonic()
        lock = FileLock(tmp_path / "w.lock")
        lock.acquire(timeout=10)
        waited = time.monotonic() - started
        assert 0.1 < waited < 10  # it waited for the holder, then got the lock
        lock.release()
    finally:
        holder.join()
    assert holder.exitcode == 0


def test_has_waiters_reports_a_process_queued_in_the_turnstile(tmp_path: Path):
    lock = FileLock(tmp_path / "w.lock")
    lock.acquire(timeout=1)
    assert not lock.has_waiters()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    waiter = context.Process(target=_hold_lock, args=(str(tmp_path / "w.lock"), 0.0, ready))
    waiter.start()
    try:
        deadline = time.monotonic() + 30
        while not lock.has_waiters():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        lock.release()
        waiter.join()
    assert ready.is_set()
