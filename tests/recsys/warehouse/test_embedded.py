"""Parking: a process keeps the engine open between sessions until somebody else waits."""

import multiprocessing
import time
from pathlib import Path

import pytest

from recsys.warehouse.connection import Warehouse
from recsys.warehouse.lock import FileLock


def _timed_session(url: str, result) -> None:
    started = time.monotonic()
    with Warehouse.from_url(url, lock_timeout=30, linger=0).session() as client:
        client.query("SELECT 1")
    result.put(time.monotonic() - started)


def test_consecutive_sessions_reuse_the_parked_engine(tmp_path: Path):
    warehouse = Warehouse.from_url(f"chdb://{tmp_path / 'w'}", linger=30)
    with warehouse.session() as first:
        pass
    with warehouse.session() as second:
        assert second is first
    warehouse.close()
    with warehouse.session() as third:
        assert third is not first
    warehouse.close()


def test_without_linger_every_session_closes_the_engine(tmp_path: Path):
    warehouse = Warehouse.from_url(f"chdb://{tmp_path / 'w'}", linger=0)
    with warehouse.session() as first:
        pass
    assert not FileLock(tmp_path / "w.lock").has_waiters()
    other = FileLock(tmp_path / "w.lock")
    other.acquire(timeout=1)  # free at once: nothing is parked
    other.release()
    with warehouse.session() as second:
        assert second is not first


def test_a_parked_engine_lets_a_waiting_process_in_at_once(tmp_path: Path):
    url = f"chdb://{tmp_path / 'w'}"
    warehouse = Warehouse.from_url(url, linger=60)  # would idle for a minute
    with warehouse.session() as client:
        client.command("CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x")
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    other = context.Process(target=_timed_session, args=(url, result))
    other.start()
    waited = result.get(timeout=60)
    other.join()
    assert waited < 5  # mostly process start-up and the engine opening, not the 60 s linger
    warehouse.close()


def test_an_idle_parked_engine_is_closed_after_linger(tmp_path: Path):
    warehouse = Warehouse.from_url(f"chdb://{tmp_path / 'w'}", linger=0.2)
    with warehouse.session():
        pass
    deadline = time.monotonic() + 5
    probe = FileLock(tmp_path / "w.lock")
    while True:
        try:
            probe.acquire(timeout=0.05)
            break
        except TimeoutError:
            assert time.monotonic() < deadline, "the parked engine was never closed"
    probe.release()


def test_opening_another_directory_closes_the_parked_one(tmp_path: Path):
    first = Warehouse.from_url(f"chdb://{tmp_path / 'a'}", linger=60)
    second = Warehouse.from_url(f"chdb://{tmp_path / 'b'}", linger=60)
    with first.session():
        pass
    with second.session() as client:
        assert client.query("SELECT 1").result_rows == [(1,)]
    with (
        pytest.raises(RuntimeError, match="one data directory per process"),
        second.session(),
        first.session(),
    ):
        pass
    second.close()
