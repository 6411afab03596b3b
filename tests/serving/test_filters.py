"""Filters, the trending top-up and MMR diversity as plain list operations."""

import numpy as np

from serving.lists import filters
from serving.lists.filters import ItemFilter

GENRES = {"a": {"drama"}, "b": {"comedy"}, "c": {"drama", "comedy"}, "d": set(), "e": {"drama"}}


def genres_of(item_id: str) -> frozenset[str]:
    return frozenset(GENRES.get(item_id, ()))


def scored(*ids: str) -> list[tuple[str, float, str]]:
    return [(item_id, 1.0 - n / 10, "model") for n, item_id in enumerate(ids)]


def test_keep_applies_genres_exclusions_ids_and_unwanted():
    ranked = scored("a", "b", "c", "d", "e")
    wanted = ItemFilter(genres=frozenset({"drama"}), exclude_genres=frozenset({"comedy"}))
    assert [e[0] for e in filters.keep(ranked, wanted, genres_of)] == ["a", "e"]
    no_ids = ItemFilter(exclude_ids=frozenset({"b"}))
    assert [e[0] for e in filters.keep(ranked, no_ids, genres_of, frozenset({"d"}))] == [
        "a", "c", "e"
    ]  # fmt: skip


def test_top_up_fills_from_the_fallback_without_repeats_or_unwanted_items():
    chosen = scored("a")
    fallback = [("a", 9.0, "trending"), ("b", 8.0, "trending"), ("c", 7.0, "trending"),
                ("e", 6.0, "trending")]  # fmt: skip
    topped = filters.top_up(chosen, 3, fallback, ItemFilter(), genres_of, frozenset({"b"}))
    assert [e[0] for e in topped] == ["a", "c", "e"]
    assert filters.top_up(scored("a", "b", "c"), 2, fallback, ItemFilter(), genres_of) == scored(
        "a", "b"
    )


def test_mmr_with_weight_one_keeps_the_ranking():
    ranked = scored("a", "b", "c")
    assert filters.mmr(ranked, 2, 1.0, lambda ids: 1 / 0) == ranked[:2]


def test_mmr_trades_relevance_for_dissimilarity():
    # a and e are near copies; b is different and a little less relevant.
    ranked = [("a", 1.0, "m"), ("e", 0.95, "m"), ("b", 0.9, "m")]
    close = {frozenset({"a", "e"}): 0.99}

    def similarity(ids):
        return np.array([[1.0 if x == y else close.get(frozenset({x, y}), 0.0) for y in ids]
                         for x in ids])  # fmt: skip

    assert [e[0] for e in filters.mmr(ranked, 2, 1.0, similarity)] == ["a", "e"]
    assert [e[0] for e in filters.mmr(ranked, 2, 0.5, similarity)] == ["a", "b"]
    assert len(filters.mmr(ranked, 10, 0.5, similarity)) == 3
