"""Metrics against values computed by hand."""

import math

import pytest

from recsys.evaluation import metrics

RANKED = ["a", "x", "b", "y", "c"]
RELEVANT = {"a", "b", "c", "d"}


def test_precision_recall_hit_rate():
    assert metrics.precision_at_k(RANKED, RELEVANT, 5) == pytest.approx(3 / 5)
    assert metrics.precision_at_k(RANKED, RELEVANT, 2) == pytest.approx(1 / 2)
    assert metrics.recall_at_k(RANKED, RELEVANT, 5) == pytest.approx(3 / 4)
    assert metrics.hit_rate_at_k(RANKED, RELEVANT, 1) == 1.0
    assert metrics.hit_rate_at_k(["x", "y"], RELEVANT, 2) == 0.0
    assert metrics.recall_at_k(RANKED, set(), 5) == 0.0


def test_ndcg_by_hand():
    dcg = 1 / math.log2(2) + 1 / math.log2(4) + 1 / math.log2(6)
    ideal = sum(1 / math.log2(i + 2) for i in range(4))
    assert metrics.ndcg_at_k(RANKED, RELEVANT, 5) == pytest.approx(dcg / ideal)
    assert metrics.ndcg_at_k(["a", "b"], {"a", "b"}, 10) == pytest.approx(1.0)


def test_average_precision_by_hand():
    # hits at ranks 1, 3, 5: (1/1 + 2/3 + 3/5) / min(5, 4)
    assert metrics.average_precision_at_k(RANKED, RELEVANT, 5) == pytest.approx(
        (1 + 2 / 3 + 3 / 5) / 4
    )


def test_coverage_novelty_diversity():
    assert metrics.catalogue_coverage([["a", "b"], ["b", "c"]], 10, 2) == pytest.approx(0.3)
    popularity = {"a": 0.5, "b": 0.25}
    assert metrics.novelty(["a", "b"], popularity, 2) == pytest.approx((1 + 2) / 2)
    genres = {
        "a": frozenset({"Drama"}),
        "b": frozenset({"Drama", "War"}),
        "c": frozenset({"Comedy"}),
    }
    # pairs: a-b 1 - 1/2, a-c 1, b-c 1
    assert metrics.intra_list_diversity(["a", "b", "c"], genres, 3) == pytest.approx(2.5 / 3)


def test_batched_genre_diversity_matches_the_scalar_definition():
    genres = {
        "a": frozenset({"Drama"}),
        "b": frozenset({"Drama", "War"}),
        "c": frozenset({"Comedy"}),
        "d": frozenset(),
        "e": frozenset(),
    }
    lists = [["a", "b", "c"], ["d", "e", "a"], ["c"], ["b", "x", "a"], [], ["c", "a", "b", "d"]]
    for k in (2, 3):
        expected = sum(metrics.intra_list_diversity(r, genres, k) for r in lists) / len(lists)
        # Blocks of two lists: the result does not depend on how lists are batched.
        assert metrics.genre_diversity(lists, genres, k, block=2) == pytest.approx(expected)
        assert metrics.genre_diversity(lists, genres, k) == pytest.approx(expected)
