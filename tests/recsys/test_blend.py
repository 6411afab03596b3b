"""The one blend the hybrid and fold-in share: who gets which share, and how rows scale."""

import numpy as np
import pytest

from recsys.foldin.blend import Blend, blend_rows, minmax_rows


def test_without_content_only_below_the_collaborative_side_serves_long_histories_alone():
    blend = Blend(collab_weight=0.6, min_interactions=3)
    assert blend.collaborative_share(np.array([0, 2, 3, 40])).tolist() == [0.6, 0.6, 1.0, 1.0]


def test_content_only_below_serves_short_histories_from_content_alone():
    blend = Blend(collab_weight=0.6, min_interactions=3, content_only_below=True)
    assert blend.collaborative_share(np.array([0, 2, 3, 40])).tolist() == [0.0, 0.0, 0.6, 0.6]


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_weight_outside_zero_to_one_is_refused(weight):
    with pytest.raises(ValueError, match="collab_weight"):
        Blend(collab_weight=weight)


def test_minmax_scales_each_row_over_its_finite_entries():
    rows = np.array([[2.0, 4.0, -np.inf], [5.0, 5.0, 5.0]], dtype=np.float32)
    scaled = minmax_rows(rows)
    assert scaled[0].tolist() == [0.0, 1.0, -np.inf]
    assert scaled[1].tolist() == [0.0, 0.0, 0.0]
    assert minmax_rows(np.array([1.0, 3.0, 2.0])).tolist() == [0.0, 1.0, 0.5]


def test_blend_rows_mixes_scaled_sides_with_each_rows_share():
    collaborative = np.array([[0.0, 10.0], [0.0, 10.0]], dtype=np.float32)
    content = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    mixed = blend_rows(collaborative, content, np.array([1.0, 0.25]))
    np.testing.assert_allclose(mixed, [[0.0, 1.0], [0.75, 0.25]])
