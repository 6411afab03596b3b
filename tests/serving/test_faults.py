"""Warehouse faults, made real: ClickHouse's own read-only setting, a closed port, a lock held
by another process, a full disk (a small class raising ClickHouse's own error). Writes answer
503 with Retry-After, reads fall back as documented, readiness is 503 while writes fail and
200 again once they work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from fastapi.testclient import TestClient

from recsys.settings import Settings
from recsys.warehouse.connection import Warehouse
from serving.app import create_app
from tests.conftest import free_port, small_settings, warehouse_held_elsewhere

STATEMENTS = ("query", "query_df", "command", "insert", "insert_df", "insert_arrow")


class ReadOnlyClient:
    """A real client whose every statement carries ClickHouse's `readonly=2`: reads (and
    their settings) work, ClickHouse itself refuses every write."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name: str):
        method = getattr(self._client, name)
        if name not in STATEMENTS:
            return method

        def call(*args, settings=None, **kwargs):
            return method(*args, settings={**(settings or {}), "readonly": 2}, **kwargs)

        return call


class FullDiskClient:
    """A real client on a disk with no room: inserts fail as ClickHouse reports it."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name: str):
        if name.startswith("insert"):

            def refuse(*args, **kwargs):
                raise DatabaseError(
                    "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. "
                    "(NOT_ENOUGH_SPACE)"
                )

            return refuse
        return getattr(self._client, name)


class WrappedWarehouse(Warehouse):
    def __init__(self, url: str, wrap, **kwargs) -> None:
        super().__init__(Warehouse.from_url(url).target, **kwargs)
        self._wrap = wrap

    @contextmanager
    def session(self, timeout: float | None = None) -> Iterator:
        with super().session(timeout) as client:
            yield self._wrap(client)


@pytest.fixture(scope="module")
def api_settings(writable_home: Settings) -> Settings:
    """Short lock waits: a held warehouse turns into an answer quickly."""
    return writable_home.model_copy(update={"lock_timeout_seconds": 0.5})


@contextmanager
def warehouse_swapped(api, warehouse: Warehouse) -> Iterator[None]:
    state = api.app.state.serving
    healthy = state.warehouse
    state.warehouse = warehouse
    try:
        yield
    finally:
        state.warehouse = healthy


def _like(api, user: str):
    return api.post("/events", json={"user_id": user, "item_id": "i1", "event_type": "like"})


def _writes_fail_then_recover(api, fault, expected: str) -> None:
    with fault:
        refused = _like(api, "fault-user")
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] and expected in refused.json()["detail"]
        ready = api.get("/health/ready")
        assert ready.status_code == 503 and "event writes are failing" in ready.json()["detail"]
        recs = api.get("/recommendations/fault-user")  # reads answer meanwhile
        assert recs.status_code == 200
    api.app.state.serving._last_write_probe = 0.0  # probe at once rather than within a second
    assert api.get("/health/ready").status_code == 200  # the probe write works again
    assert _like(api, "fault-user").status_code == 200


def test_a_read_only_warehouse(api, api_settings):
    fault = warehouse_swapped(api, WrappedWarehouse(api_settings.warehouse_url, ReadOnlyClient))
    _writes_fail_then_recover(api, fault, "read-only")


def test_a_full_disk(api, api_settings):
    fault = warehouse_swapped(api, WrappedWarehouse(api_settings.warehouse_url, FullDiskClient))
    _writes_fail_then_recover(api, fault, "not enough disk space")


def test_a_lock_held_by_another_process(api, api_settings):
    user = "locked-out-user"
    assert _like(api, user).status_code == 200  # fresh: the next read would fold in
    with warehouse_held_elsewhere(api_settings.warehouse_url):
        refused = _like(api, user)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert "busy" in refused.json()["detail"]
        recs = api.get(f"/recommendations/{user}")
        assert recs.status_code == 200 and recs.json()["source"] in ("precomputed", "trending")
        profile = api.get(f"/users/{user}/profile")
        assert profile.status_code == 503 and profile.headers["Retry-After"]
        assert api.get("/health/ready").status_code == 503
    api.app.state.serving._last_write_probe = 0.0
    assert api.get("/health/ready").status_code == 200


def test_an_unreachable_server(api):
    closed = Warehouse.from_url(f"http://127.0.0.1:{free_port()}/recsys")
    user = "unreachable-user"
    assert _like(api, user).status_code == 200
    _writes_fail_then_recover(api, warehouse_swapped(api, closed), "not reachable")
    with warehouse_swapped(api, closed):
        recs = api.get(f"/recommendations/{user}")  # fold-in cannot read: published list
        assert recs.status_code == 200 and recs.json()["source"] in ("precomputed", "trending")
        assert api.get(f"/users/{user}/profile").status_code == 503


def test_the_api_starts_while_the_warehouse_is_down(tmp_path):
    settings = small_settings(tmp_path, clickhouse_url=f"http://127.0.0.1:{free_port()}/recsys")
    with TestClient(create_app(settings), raise_server_exceptions=False) as api:
        assert api.get("/health/live").status_code == 200
        ready = api.get("/health/ready")
        assert ready.status_code == 503 and "no published model" in ready.json()["detail"]
        refused = _like(api, "early-user")
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert api.get("/recommendations/early-user").status_code == 503
