"""Which path serves a list, on a hand-built snapshot (no warehouse read on these paths)."""

from datetime import UTC, datetime

import pytest

from recsys.warehouse.versions import ModelVersion
from serving.held.catalogue_view import ItemInfo, MemoryCatalogue
from serving.held.served_lists import MemoryReads, WarehouseReads
from serving.held.snapshot import Snapshot
from serving.lists import path_choice
from serving.lists.path_choice import ListOptions
from serving.state import ServingState
from tests.conftest import small_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def state(tmp_path) -> ServingState:
    return ServingState(small_settings(tmp_path))


@pytest.fixture
def snapshot() -> Snapshot:
    version = ModelVersion("als-1", "als", NOW, NOW)
    lists = {"u1": [("a", 0.9), ("b", 0.8), ("c", 0.7)]}
    trending = {"decayed": [("t1", 5.0), ("a", 4.0), ("t2", 3.0)]}
    return Snapshot(version, MemoryReads(lists, {}), trending, fold_in=None)


@pytest.fixture
def catalogue() -> MemoryCatalogue:
    ids = ["a", "b", "c", "t1", "t2"]
    return MemoryCatalogue({i: ItemInfo.of(i, f"title {i}", ["Drama"], [], None) for i in ids})


def _ids(served) -> list[str]:
    return [item_id for item_id, _, _ in served.items]


def test_a_known_user_with_nothing_new_gets_the_published_list_from_memory(
    state, snapshot, catalogue
):
    options = ListOptions(k=2)
    assert path_choice.served_from_memory(state, snapshot, "u1", options)
    served = path_choice.recommend(state, snapshot, catalogue, "u1", options)
    assert (served.source, _ids(served)) == ("precomputed", ["a", "b"])
    assert {label for _, _, label in served.items} == {"als"}


def test_a_stranger_gets_trending(state, snapshot, catalogue):
    served = path_choice.recommend(state, snapshot, catalogue, "nobody", ListOptions(k=2))
    assert (served.source, _ids(served)) == ("trending", ["t1", "a"])


def test_a_fresh_user_without_fold_in_loses_what_they_just_touched(state, snapshot, catalogue):
    state.fresh.add([("u1", "a")])
    options = ListOptions(k=2)
    assert not path_choice.served_from_memory(state, snapshot, "u1", options)
    served = path_choice.recommend(state, snapshot, catalogue, "u1", options)
    assert (served.source, _ids(served)) == ("precomputed", ["b", "c"])


def test_warehouse_reads_or_options_beyond_top_k_leave_memory(state, snapshot):
    assert not path_choice.served_from_memory(state, snapshot, "u1", ListOptions(explain=True))
    assert not path_choice.served_from_memory(state, snapshot, "u1", ListOptions(diversity=0.5))
    by_warehouse = Snapshot(snapshot.version, WarehouseReads(state.warehouse, "als-1"), {})
    assert not path_choice.served_from_memory(state, by_warehouse, "u1", ListOptions())
