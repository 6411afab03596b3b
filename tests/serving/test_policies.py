"""Serving policies: items a user keeps ignoring are demoted; a share of slots explores rarely
shown items. Pure rules first, then through the API with the settings on."""

from __future__ import annotations

import random

import pytest

from serving.lists.policy_steps import EXPLORED, demote, explore
from tests.conftest import API_OVERRIDES


def ranked(n: int) -> list[tuple[str, float, str]]:
    return [(f"i{k}", 1.0 - k / 100, "als") for k in range(n)]


def test_demotion_moves_what_was_shown_enough_behind_the_rest():
    items = ranked(5)
    shown = {"i0": 3, "i1": 1, "i3": 2}
    assert [i for i, _, _ in demote(items, shown, after=2)] == ["i1", "i2", "i4", "i0", "i3"]
    assert demote(items, {}, after=2) == items


def test_exploration_takes_its_share_spread_through_the_list():
    pool = tuple(f"cold{k}" for k in range(50))
    taken = {"cold0", "cold1"}
    result = explore(ranked(10), 10, 0.2, pool, taken, random.Random(1))
    explored = [n for n, (_, _, source) in enumerate(result) if source == EXPLORED]
    assert len(result) == 10 and len(explored) == 2
    assert explored[0] > 0 and explored[-1] < 9  # not all at the top or the bottom
    assert not {result[n][0] for n in explored} & taken
    # A share below one slot explores in that share of lists, on average.
    rng = random.Random(2)
    slots = [
        sum(s == EXPLORED for _, _, s in explore(ranked(10), 10, 0.05, pool, set(), rng))
        for _ in range(2000)
    ]
    assert 0.4 < sum(slots) / len(slots) < 0.6
    assert explore(ranked(10), 10, 0.2, (), set(), rng) == ranked(10)  # nothing to explore


@pytest.fixture(scope="module")
def api_settings(writable_home):
    return writable_home.model_copy(
        update={**API_OVERRIDES, "demote_after_impressions": 2, "exploration_share": 0.2}
    )


def test_through_the_api_ignored_items_are_demoted_and_cold_items_explored(api, facts):
    user = facts["user"]
    lists = [api.get(f"/recommendations/{user}").json()["items"] for _ in range(3)]
    modelled = [[i["item_id"] for i in items if i["source"] != EXPLORED] for items in lists]
    explored = [[i["item_id"] for i in items if i["source"] == EXPLORED] for items in lists]
    assert all(len(items) == 10 for items in lists)
    assert all(1 <= len(e) <= 2 for e in explored)  # 0.2 of 10 slots
    assert [i["position"] for i in lists[0]] == list(range(1, 11))
    # Shown twice without a click: the third list puts those items behind fresh ones.
    assert modelled[0] == modelled[1] and not set(modelled[2]) & set(modelled[0])
