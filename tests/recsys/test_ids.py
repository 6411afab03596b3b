"""Defence in depth: even ids the event rule refuses (a trailing NUL) stay distinct wherever
ids are coded, exported or saved."""

import numpy as np
import pandas as pd
import pyarrow as pa

from recsys.events.ids import IdCodes, id_array, pack_ids, unpack_ids
from recsys.models.matrix import build_matrix
from recsys.warehouse.exports import topk_table

TWINS = np.array(
    ["u0", "u0\x00", "u0\x00\x00", "é", "e\u0301", "\u200fu0", "👩\u200d💻"], dtype=object
)


def test_codes_keep_ids_that_pandas_hashing_would_fold():
    codes = IdCodes()
    assert list(codes.encode(TWINS)) == list(range(len(TWINS)))
    assert list(codes.encode(TWINS[::-1])) == list(range(len(TWINS)))[::-1]
    assert list(codes.ids()) == list(TWINS)
    assert len(pd.unique(TWINS)) < len(TWINS)  # what the matrix used to rely on


def test_the_matrix_gives_each_id_its_own_row():
    block = pd.DataFrame(
        {"user_id": TWINS, "item_id": TWINS, "confidence": np.ones(len(TWINS), np.float32),
         "disliked": np.zeros(len(TWINS), np.uint8)}
    )  # fmt: skip
    matrix = build_matrix([block])
    assert matrix.shape == (len(TWINS), len(TWINS)) and list(matrix.user_ids) == list(TWINS)
    assert (matrix.seen.toarray() == np.eye(len(TWINS))).all()


def test_exports_and_saved_models_keep_every_character():
    assert id_array(TWINS).to_pylist() == list(TWINS)
    table = topk_table(
        rows=np.arange(2), columns=np.array([[1, 0], [0, 1]]), scores=np.ones((2, 2)),
        row_ids=TWINS[:2], column_ids=id_array(TWINS[:2]), names=("user_id", "item_id"),
        model_version="v", source="s",
    )  # fmt: skip
    assert table.column("user_id").cast(pa.string()).to_pylist() == ["u0", "u0", "u0\x00", "u0\x00"]
    assert table.column("item_id").cast(pa.string()).to_pylist() == ["u0\x00", "u0", "u0", "u0\x00"]
    assert list(unpack_ids(*pack_ids(TWINS))) == list(TWINS)
    assert np.asarray(TWINS).astype(str)[1] == "u0"  # what fixed-width strings do to a NUL
