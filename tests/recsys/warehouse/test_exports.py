"""Writing a version's top-K lists: Arrow blocks with dictionary-encoded ids."""

import numpy as np


def test_topk_blocks_travel_as_arrow_with_ranks_over_filled_slots(warehouse):
    """Dictionary-encoded ids arrive as plain strings; empty slots are dropped, ranks close up."""
    from recsys.warehouse import exports

    item_ids = np.array(["a", "b", "c"], dtype=object)
    table = exports.topk_table(
        rows=np.array([1, 0]),
        columns=np.array([[2, -1, 0], [1, 0, -1]]),
        scores=np.array([[0.9, 0.0, 0.4], [0.8, 0.7, 0.0]], dtype=np.float32),
        row_ids=np.array(["u0", "u1"], dtype=object),
        column_ids=exports.id_array(item_ids),
        names=("user_id", "item_id"),
        model_version="v1",
        source="als",
    )
    written = exports.write_topk(warehouse, "user_recommendations", "v1", [table])
    with warehouse.session() as client:
        rows = client.query(
            "SELECT user_id, rank, item_id, round(toFloat64(score), 2), model_version, source "
            "FROM user_recommendations ORDER BY user_id, rank"
        ).result_rows
    assert written == 4
    assert rows == [
        ("u0", 1, "b", 0.8, "v1", "als"),
        ("u0", 2, "a", 0.7, "v1", "als"),
        ("u1", 1, "c", 0.9, "v1", "als"),
        ("u1", 2, "a", 0.4, "v1", "als"),
    ]


def test_explanations_land_on_their_slots_and_unexplained_slots_get_empty_lists(warehouse):
    """A ranker explains some slots: each keeps its own features and lifts, in order."""
    from recsys.lifts import Lifts
    from recsys.warehouse import exports

    # Slot (0, 0) and, after an empty slot, (1, 2): only positive contributions are lifts.
    lifted = Lifts.of(
        ["als_score", "genre_affinity", "recent_neighbours_rank"],
        (2, 3),
        rows=np.array([0, 1]),
        slots=np.array([0, 2]),
        contributions=np.array([[0.5, 0.25, -0.1], [0.0, -0.2, 0.125]]),
    )
    table = exports.topk_table(
        rows=np.array([0, 1]),
        columns=np.array([[2, 1, 0], [1, -1, 0]]),
        scores=np.array([[0.9, 0.8, 0.7], [0.6, 0.0, 0.5]], dtype=np.float32),
        row_ids=np.array(["u0", "u1"], dtype=object),
        column_ids=exports.id_array(np.array(["a", "b", "c"], dtype=object)),
        names=("user_id", "item_id"),
        model_version="v1",
        source="ranker",
        lifted_by=lifted,
    )
    exports.write_topk(warehouse, "user_recommendations", "v1", [table])
    with warehouse.session() as client:
        rows = client.query(
            "SELECT user_id, rank, item_id, lifted_by, lifts "
            "FROM user_recommendations ORDER BY user_id, rank"
        ).result_rows
    assert rows == [
        ("u0", 1, "c", ["als_score", "genre_affinity"], [0.5, 0.25]),
        ("u0", 2, "b", [], []),
        ("u0", 3, "a", [], []),
        ("u1", 1, "b", [], []),
        ("u1", 2, "a", ["recent_neighbours_rank"], [0.125]),
    ]
