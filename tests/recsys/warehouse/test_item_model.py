"""A version's item side (factors, item-item weights, content) round-trips the warehouse."""

import numpy as np
import scipy.sparse as sp

from recsys.foldin import ItemSide
from recsys.warehouse.item_model import read_item_model, write_item_model


def test_item_model_round_trip(warehouse):
    rng = np.random.default_rng(0)
    weights = sp.random(6, 6, density=0.4, format="csr", dtype=np.float32, random_state=1)
    items = ItemSide(
        item_ids=np.array([f"i{n}" for n in range(6)], dtype=object),
        content=sp.random(6, 9, density=0.3, format="csr", dtype=np.float32, random_state=2),
        factors=rng.normal(size=(6, 3)).astype(np.float32),
        item_weights=weights,
        length_norm=rng.random(6).astype(np.float32),
    )
    assert write_item_model(warehouse, "v1", items, block_rows=4) == 6
    with warehouse.session() as client:
        loaded = read_item_model(client, "v1")
        assert read_item_model(client, "v2") is None
    assert list(loaded.item_ids) == list(items.item_ids)
    np.testing.assert_array_equal(loaded.factors, items.factors)
    np.testing.assert_array_equal(loaded.length_norm, items.length_norm)
    assert (loaded.item_weights != items.item_weights).nnz == 0
    # Trailing empty term columns are not stored; the rows' content is.
    np.testing.assert_array_equal(
        loaded.content.toarray(), items.content.toarray()[:, : loaded.content.shape[1]]
    )
    assert not items.content.toarray()[:, loaded.content.shape[1] :].any()
