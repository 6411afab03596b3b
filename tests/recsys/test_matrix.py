import numpy as np
import pandas as pd

from recsys.models.matrix import build_matrix


def _block(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "confidence", "disliked"])


def test_blocks_build_one_matrix_with_stable_id_maps():
    matrix = build_matrix(
        [
            _block([("u1", "a", 2.0, 0), ("u2", "b", 1.0, 0)]),
            _block([("u1", "c", 0.0, 1), ("u3", "a", 5.0, 0)]),
        ]
    )
    assert matrix.shape == (3, 3)
    assert list(matrix.user_ids) == ["u1", "u2", "u3"]
    assert list(matrix.item_ids) == ["a", "b", "c"]
    dense = matrix.confidence.toarray()
    assert dense[0, 0] == 2.0 and dense[2, 0] == 5.0 and dense[1, 1] == 1.0
    # The disliked pair is seen (never recommended) but carries no confidence.
    assert dense[0, 2] == 0.0 and matrix.seen[0, 2] == 1.0
    assert matrix.confidence.nnz == 3 and matrix.seen.nnz == 4
    assert matrix.confidence.dtype == np.float32


def test_no_blocks_build_an_empty_matrix():
    matrix = build_matrix([])
    assert matrix.shape == (0, 0) and matrix.density == 0.0
