"""The one change feed's semantics: what a reader learns, and when
(`recsys.warehouse.change_feed`)."""

import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recsys.catalogue.payloads import ItemFields
from recsys.erasure import records
from recsys.erasure.keys import ErasureKeys
from recsys.experiments import store
from recsys.settings import Settings
from recsys.warehouse import item_writes, versions
from recsys.warehouse.change_feed import (
    CATALOGUE,
    ERASURES,
    EXPERIMENTS,
    KINDS,
    PUBLISHED,
    ChangeFeed,
    FeedFile,
)
from recsys.warehouse.connection import Warehouse
from serving.state import ServingState
from tests.conftest import small_settings


@pytest.fixture
def feed_file(tmp_path: Path) -> FeedFile:
    return FeedFile(tmp_path / "warehouse.changes")


def test_a_look_reports_what_changed_since_the_last_once_in_any_order(feed_file: FeedFile):
    reader = ChangeFeed(feed_file.read)
    assert reader.changed() == set(KINDS)  # the first look: everything is news
    assert reader.changed() == set()
    feed_file.announce(CATALOGUE)
    assert reader.changed() == {CATALOGUE}
    assert reader.changed() == set()
    late = ChangeFeed(feed_file.read)
    late.mark()  # a reader that just loaded everything
    feed_file.announce(PUBLISHED)
    assert late.changed() == {PUBLISHED} and reader.changed() == {PUBLISHED}


def test_missed_looks_lose_nothing_and_changes_coalesce_per_kind(feed_file: FeedFile):
    reader = ChangeFeed(feed_file.read)
    reader.mark()
    for kind in (ERASURES, CATALOGUE, ERASURES, EXPERIMENTS, ERASURES):
        feed_file.announce(kind)  # while the reader looks nowhere
    assert reader.changed() == {ERASURES, CATALOGUE, EXPERIMENTS}
    assert reader.changed() == set()


def test_a_reaction_that_failed_is_reported_again(feed_file: FeedFile):
    reader = ChangeFeed(feed_file.read)
    reader.mark()
    feed_file.announce(CATALOGUE)
    assert reader.changed() == {CATALOGUE}
    reader.again(CATALOGUE)
    assert reader.changed() == {CATALOGUE}
    assert reader.changed() == set()


def _die_while_announcing(path: Path) -> None:
    """Take the lock, write the scratch file, and die before renaming it into place."""

    def killed(self, target):
        os._exit(3)

    Path.replace = killed
    FeedFile(path).announce(EXPERIMENTS)


def test_a_writer_that_dies_mid_write_leaves_the_old_feed_and_no_lock(feed_file: FeedFile):
    feed_file.announce(CATALOGUE)
    reader = ChangeFeed(feed_file.read)
    reader.mark()
    child = multiprocessing.get_context("fork").Process(
        target=_die_while_announcing, args=(feed_file.path,)
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 3
    assert reader.changed() == set()  # the old file, whole: no half-written announcement
    feed_file.announce(ERASURES)  # the dead writer's lock went with it
    assert reader.changed() == {ERASURES}


def test_a_feed_that_cannot_be_read_reports_every_kind(feed_file: FeedFile):
    reader = ChangeFeed(feed_file.read)
    reader.mark()
    feed_file.path.write_text('{"catalogue": "ab')  # damaged by hand, or a full disk
    assert reader.changed() == set(KINDS)
    with pytest.raises(ValueError, match="unknown change kind"):
        feed_file.announce("weather")


def test_on_a_server_one_query_sees_every_writer_even_ones_that_announce_nothing(
    warehouse: Warehouse,
):
    reader = ChangeFeed.server(warehouse.session)  # the tables' own signatures
    reader.mark()
    now = datetime.now(UTC)
    with warehouse.session() as client:
        item_writes.upsert(client, [("item-1", ItemFields(title="Dune"))])
        assert reader.changed() == {CATALOGUE}
        records.record(client, ErasureKeys(b"k" * 32), "user-1")
        store.remove(client, "an-experiment")
        assert reader.changed() == {ERASURES, EXPERIMENTS}
        version = versions.ModelVersion("v1", "als", trained_at=now, events_ingested_until=now)
        versions.record(client, version)
        assert reader.changed() == set()  # recorded, not published: nothing serves it
        versions.publish(client, version)
        assert reader.changed() == {PUBLISHED}
        assert reader.changed() == set()


def test_a_serving_process_reacts_once_per_change_and_retries_a_failed_reaction(
    tmp_path: Path,
):
    settings: Settings = small_settings(tmp_path / "home")
    state = ServingState(settings)
    state.start()
    seen, failures = [], [RuntimeError("the warehouse went away")]

    def react():
        if failures:
            raise failures.pop()
        seen.append(EXPERIMENTS)

    state.subscribe(EXPERIMENTS, react)
    state.poll()
    assert seen == []  # nothing changed since the process loaded
    state.warehouse.notify_changed(EXPERIMENTS)
    with pytest.raises(RuntimeError):
        state.poll()
    state.poll()  # the next poll retries the reaction that failed
    state.poll()
    assert seen == [EXPERIMENTS]
