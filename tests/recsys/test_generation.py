"""Bucketed generation: buckets partition the users, and lists match the model's on any thread."""

import numpy as np
import pandas as pd
import pytest

from recsys.models.als import ALSParams, ALSRecommender
from recsys.models.knn import ItemKNNRecommender
from recsys.models.matrix import build_matrix
from recsys.training import generation


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(7)
    users = np.repeat([f"u{n}" for n in range(300)], 6)
    items = [f"i{n}" for n in rng.integers(0, 80, len(users))]
    frame = pd.DataFrame(
        {"user_id": users, "item_id": items, "confidence": 1.0, "disliked": 0}
    ).drop_duplicates(["user_id", "item_id"])
    # A user whose only event is a dislike has no positive signal, so gets no precomputed list.
    frame.loc[len(frame)] = ["only-dislikes", "i1", 0.0, 1]
    return build_matrix([frame])


def _all_lists(model, k, buckets, workers=1):
    got = {}
    for lists in generation.generate(model, k, buckets, workers):
        for row, columns, scores in zip(lists.rows, lists.columns, lists.scores, strict=True):
            assert row not in got, "a user landed in two buckets"
            got[int(row)] = (tuple(columns), tuple(np.round(scores, 5)))
    return got


def test_buckets_are_a_stable_partition_of_user_ids():
    ids = np.array([f"user-{n}" for n in range(5000)], dtype=object)
    buckets = generation.user_buckets(ids, 16)
    assert buckets.min() == 0 and buckets.max() == 15
    assert np.bincount(buckets).min() > 5000 / 16 * 0.7  # roughly even
    # The same id gets the same bucket whatever else is in the array, in any order.
    assert list(generation.user_buckets(ids[::-1], 16)) == list(buckets[::-1])
    assert generation.user_buckets(ids[7:8], 16)[0] == buckets[7]
    with pytest.raises(ValueError, match="buckets"):
        generation.user_buckets(ids, 0)


@pytest.mark.parametrize("buckets", [1, 7])
def test_bucketed_lists_are_the_models_own_for_every_active_user(matrix, buckets):
    model = ItemKNNRecommender(neighbours=20).fit(matrix)
    got = _all_lists(model, k=10, buckets=buckets)
    active = generation.active_rows(model)
    assert sorted(got) == sorted(active.tolist())
    assert matrix.user_ids[list(got)].tolist().count("only-dislikes") == 0
    columns, scores = model.recommend(active, 10)
    for row, cols, vals in zip(active, columns, scores, strict=True):
        assert got[int(row)] == (tuple(cols), tuple(np.round(vals, 5)))


def test_threads_compute_the_same_lists(matrix):
    model = ALSRecommender(ALSParams(factors=8, iterations=5)).fit(matrix)
    in_process = _all_lists(model, k=5, buckets=4)
    assert _all_lists(model, k=5, buckets=4, workers=2) == in_process


@pytest.mark.parametrize("workers", [1, 3])
def test_each_bucket_step_computes_exactly_its_own_users_lists(matrix, workers):
    """What the pipeline's bucket steps compute, one bucket at a time and in slices, is what
    one pass over every bucket computes: no user lost, none twice, the same lists."""
    model = ALSRecommender(ALSParams(factors=8, iterations=5)).fit(matrix)
    whole = _all_lists(model, k=5, buckets=1)
    stepped = {}
    for bucket in range(3):
        owners = generation.user_buckets(model.train.user_ids, 3)
        for lists in generation.generate_bucket(
            model, generation.rows_of_bucket(model, bucket, 3), 5, workers, slice_users=30
        ):
            assert (owners[lists.rows] == bucket).all(), "a user computed in another's bucket"
            for row, columns, scores in zip(lists.rows, lists.columns, lists.scores, strict=True):
                assert int(row) not in stepped
                stepped[int(row)] = (tuple(columns), tuple(np.round(scores, 5)))
    assert stepped == whole
    with pytest.raises(ValueError, match="bucket 3 is not one of 0..2"):
        generation.rows_of_bucket(model, 3, 3)
