"""ALS on a tiny matrix whose right answers are known: two communities with disjoint tastes."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.matrix import build_matrix
from recsys.models.als import ALSModel, ALSParams, fit_als, similar_items, top_k_for_users

PARAMS = ALSParams(factors=4, regularization=0.1, iterations=20, random_state=1)


@pytest.fixture(scope="module")
def communities():
    """Users a0..a9 watch items A0..A9, users b0..b9 watch B0..B9; each skips one item."""
    rows = []
    for group in ("a", "b"):
        for u in range(10):
            for i in range(10):
                if i != u:  # the diagonal is held out: the item each user should be offered
                    rows.append((f"{group}{u}", f"{group.upper()}{i}", 1.0, 0))
    rows.append(("a0", "B0", 0.0, 1))  # a0 disliked B0
    rows.append(("lonely", "A1", 0.0, 1))  # only a dislike: no taste to go on
    matrix = build_matrix(
        [pd.DataFrame(rows, columns=["user_id", "item_id", "confidence", "disliked"])]
    )
    return matrix, fit_als(matrix, PARAMS)


def _recommendations(matrix, model, k):
    recs = {}
    for rows, columns, _ in top_k_for_users(model, matrix, k):
        for row, cols in zip(rows, columns, strict=True):
            recs[matrix.user_ids[row]] = [matrix.item_ids[c] for c in cols if c >= 0]
    return recs


def test_each_user_is_offered_the_item_held_out_of_their_community(communities):
    matrix, model = communities
    recs = _recommendations(matrix, model, k=1)
    for group in ("a", "b"):
        for u in range(10):
            assert recs[f"{group}{u}"] == [f"{group.upper()}{u}"]


def test_seen_and_disliked_items_never_come_back(communities):
    matrix, model = communities
    recs = _recommendations(matrix, model, k=20)
    seen = matrix.seen.tocsr()
    for row, user in enumerate(matrix.user_ids):
        touched = {matrix.item_ids[c] for c in seen[row].indices}
        assert not touched & set(recs.get(user, []))
    assert "B0" not in recs["a0"]
    assert "lonely" not in recs  # skipped: serving falls back to trending


def test_similar_items_stay_within_the_community(communities):
    matrix, model = communities
    for rows, columns, _ in similar_items(model, k=5):
        for row, cols in zip(rows, columns, strict=True):
            item = matrix.item_ids[row]
            neighbours = [matrix.item_ids[c] for c in cols if c >= 0]
            assert item not in neighbours
            assert all(n[0] == item[0] for n in neighbours), (item, neighbours)


def test_artifact_round_trips_without_pickle(communities, tmp_path: Path):
    _, model = communities
    loaded = ALSModel.load(model.save(tmp_path / "model.npz"))
    np.testing.assert_array_equal(loaded.item_factors, model.item_factors)
    assert list(loaded.user_ids) == list(model.user_ids)
    assert loaded.params == PARAMS
    with np.load(tmp_path / "model.npz", allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_an_empty_matrix_is_refused_with_a_reason():
    empty = build_matrix([])
    with pytest.raises(ValueError, match="no positive confidences"):
        fit_als(empty, PARAMS)
