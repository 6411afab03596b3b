from pathlib import Path

import pytest

from recsys.warehouse.connection import EmbeddedTarget, ServerTarget, Warehouse, parse_url


def test_embedded_url_names_an_absolute_directory():
    assert parse_url("chdb:///var/lib/recsys/warehouse") == EmbeddedTarget(
        Path("/var/lib/recsys/warehouse")
    )


def test_server_url_carries_credentials_and_database():
    target = parse_url("http://reader:s%40cret@clickhouse:8123/recs")
    assert target == ServerTarget("clickhouse", 8123, "reader", "s@cret", "recs", False)


def test_server_url_defaults_to_default_user_and_recsys_database():
    target = parse_url("https://ch.example.com")
    assert (target.port, target.username, target.database, target.secure) == (
        8443,
        "default",
        "recsys",
        True,
    )


@pytest.mark.parametrize("url", ["chdb://relative/dir", "postgres://x", "http:///nohost"])
def test_bad_urls_are_rejected_with_the_reason(url):
    with pytest.raises(ValueError, match="warehouse URL|no host|absolute"):
        parse_url(url)


def test_nested_sessions_in_one_thread_share_one_client(warehouse: Warehouse):
    with warehouse.session() as outer, warehouse.session() as inner:
        assert inner is outer
        assert inner.query("SELECT 1").result_rows == [(1,)]


def test_published_marker_round_trips_atomically(warehouse: Warehouse):
    assert warehouse.published_marker() is None
    warehouse.notify_published("als-1")
    warehouse.notify_published("als-2")
    assert warehouse.published_marker() == "als-2"
