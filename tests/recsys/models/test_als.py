"""ALS specifics; the behaviour every model shares is in test_recommenders.py."""

import numpy as np
import pandas as pd
import pytest

from recsys.models.als import ALSParams, ALSRecommender, fit_als, weight_confidence
from recsys.models.matrix import build_matrix


def _matrix():
    # Ten users; item a is common, b and c rarer, so IDF-style weights differ per item.
    rows = [(f"u{u}", "a", 1.0 + u, 0) for u in range(8)]
    rows += [("u1", "b", 5.0, 0), ("u2", "b", 2.0, 0), ("u3", "c", 3.0, 0), ("u9", "c", 0.0, 1)]
    return build_matrix(
        [pd.DataFrame(rows, columns=["user_id", "item_id", "confidence", "disliked"])]
    )


@pytest.mark.parametrize("weighting", ["bm25", "tfidf"])
def test_weighting_rescales_confidences_within_the_original_pattern(weighting):
    matrix = _matrix()
    weighted = weight_confidence(matrix, weighting)
    outside = (weighted.confidence.toarray() != 0) & (matrix.confidence.toarray() == 0)
    assert not outside.any()
    assert not np.allclose(weighted.confidence.toarray(), matrix.confidence.toarray())
    assert weighted.seen is matrix.seen


def test_unknown_weighting_is_refused():
    with pytest.raises(ValueError, match="unknown weighting"):
        weight_confidence(_matrix(), "log")


def test_an_empty_matrix_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="no positive confidences"):
        fit_als(build_matrix([]), ALSParams())


def test_params_round_trip_through_the_recommender():
    model = ALSRecommender(ALSParams(factors=8, iterations=3), weighting="bm25")
    assert model.params() == {
        "factors": 8,
        "regularization": 0.05,
        "iterations": 3,
        "alpha": 1.0,
        "random_state": 42,
        "weighting": "bm25",
    }


def test_fit_reports_each_iteration():
    sweeps: list[int] = []
    ALSRecommender(ALSParams(factors=4, iterations=3)).fit(_matrix(), on_iteration=sweeps.append)
    assert sweeps == [1, 2, 3]
