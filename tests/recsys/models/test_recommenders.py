"""The same behavioural checks against every model, on a matrix whose right answers are known.

Two communities: users a0..a9 watch items A0..A9, users b0..b9 watch B0..B9, each user skipping
the item with their own number. Items carry their community as genre, so content can tell too.
"""

import numpy as np
import pandas as pd
import pytest

from recsys.evaluation.evaluate import evaluate, prepare
from recsys.evaluation.split import holdout_split
from recsys.events.ids import unpack_ids
from recsys.models.als import ALSParams, ALSRecommender
from recsys.models.content import ContentRecommender
from recsys.models.ease import CatalogueTooLargeError, EASERecommender
from recsys.models.hybrid import HybridRecommender
from recsys.models.knn import ItemKNNRecommender
from recsys.models.matrix import build_matrix
from recsys.models.popularity import PopularityRecommender

ITEMS = pd.DataFrame(
    [
        {
            "item_id": f"{g}{i}",
            "title": f"{'Alpha' if g == 'A' else 'Beta'} story",
            "genres": ["Alpha" if g == "A" else "Beta"],
            "tags": [],
            "year": 2000,
        }
        for g in "AB"
        for i in range(10)
    ]
)


def _communities():
    rows = [
        (f"{g}{u}", f"{g.upper()}{i}", 1.0, 0)
        for g in "ab"
        for u in range(10)
        for i in range(10)
        if i != u
    ]
    return build_matrix(
        [pd.DataFrame(rows, columns=["user_id", "item_id", "confidence", "disliked"])]
    )


MODELS = {
    "als": lambda: ALSRecommender(ALSParams(factors=4, regularization=0.1, iterations=20)),
    "als_bm25": lambda: ALSRecommender(
        ALSParams(factors=4, regularization=0.1, iterations=20), weighting="bm25"
    ),
    "ease": lambda: EASERecommender(l2=1.0),
    "item_knn": lambda: ItemKNNRecommender(neighbours=20),
    "content": lambda: ContentRecommender(ITEMS),
    "hybrid": lambda: HybridRecommender(EASERecommender(l2=1.0), ContentRecommender(ITEMS), 0.7, 5),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request):
    matrix = _communities()
    return matrix, MODELS[request.param]().fit(matrix)


def test_recommends_only_unseen_items_of_the_users_community(fitted):
    matrix, model = fitted
    rows = np.arange(matrix.shape[0])
    columns, scores = model.recommend(rows, k=1)
    for row, (col,) in zip(rows, columns, strict=True):
        user, item = matrix.user_ids[row], matrix.item_ids[col]
        assert item[0] == user[0].upper(), (model.name, user, item)
        assert matrix.seen[row, col] == 0


def test_collaborative_models_find_the_held_out_item(fitted):
    matrix, model = fitted
    if model.name == "content_tfidf":
        pytest.skip("content sees genres, not who watched what: all unseen Alpha items tie")
    columns, _ = model.recommend(np.arange(matrix.shape[0]), k=1)
    offered = {matrix.user_ids[r]: matrix.item_ids[c[0]] for r, c in enumerate(columns)}
    assert all(offered[user] == user.upper() for user in offered), model.name


def test_scores_are_finite_and_lists_best_first(fitted):
    matrix, model = fitted
    _, scores = model.recommend(np.arange(matrix.shape[0]), k=5)
    valid = scores[np.isfinite(scores)]
    assert valid.size and np.all(
        np.diff(scores, axis=1)[np.isfinite(np.diff(scores, axis=1))] <= 1e-6
    )


def test_popularity_ranks_by_number_of_users():
    rows = [
        ("u1", "x", 1.0, 0),
        ("u2", "x", 1.0, 0),
        ("u3", "x", 1.0, 0),
        ("u1", "y", 5.0, 0),
        ("u2", "y", 5.0, 0),
        ("u3", "z", 9.0, 0),
        ("u4", "w", 1.0, 0),
    ]
    matrix = build_matrix(
        [pd.DataFrame(rows, columns=["user_id", "item_id", "confidence", "disliked"])]
    )
    model = PopularityRecommender().fit(matrix)
    columns, _ = model.recommend(np.array([3]), k=3)  # u4 has seen only w
    assert [matrix.item_ids[c] for c in columns[0]] == ["x", "y", "z"]


def test_ease_refuses_a_catalogue_past_its_limit():
    with pytest.raises(CatalogueTooLargeError, match="limit is 5 items"):
        EASERecommender(max_items=5).fit(_communities())


def test_evaluation_prefers_a_real_model_to_popularity_on_communities():
    rows = []
    for g in "ab":
        for u in range(10):
            for i in range(10):
                rows.append(
                    {
                        "user_id": f"{g}{u}",
                        "item_id": f"{g.upper()}{i}",
                        "confidence": 1.0,
                        "disliked": 0,
                        "rating": 5.0,
                        "last_at": pd.Timestamp("2025-01-01", tz="UTC")
                        + pd.Timedelta(days=(i + u) % 10),
                    }
                )
    data = prepare(holdout_split(pd.DataFrame(rows)), ITEMS)
    ease = evaluate(EASERecommender(l2=1.0).fit(data.train), data)
    popularity = evaluate(PopularityRecommender().fit(data.train), data)
    assert ease["ndcg_at_10"] > popularity["ndcg_at_10"]
    assert ease["users"] == 20 and 0 < ease["coverage_at_10"] <= 1
    # Everyone has 8 training items: no cold group, so no cold figure (not a fake zero).
    assert ease["cold_users"] == 0 and "cold_ndcg_at_10" not in ease
    assert ease["warm_ndcg_at_10"] == ease["ndcg_at_10"]


def test_similar_items_stay_in_the_community_and_exclude_the_item(fitted):
    matrix, model = fitted
    columns, _ = model.similar(np.arange(matrix.shape[1]), k=3)
    for col, neighbours in enumerate(columns):
        item = matrix.item_ids[col]
        names = [matrix.item_ids[c] for c in neighbours if c >= 0]
        assert item not in names and names
        assert all(name[0] == item[0] for name in names), (model.name, item, names)


def test_artifact_is_plain_arrays_without_pickle(fitted, tmp_path):
    matrix, model = fitted
    path = model.save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        assert str(data["family"]) == model.name
        # Ids as UTF-8 bytes plus offsets: exact, where fixed-width numpy strings drop NULs.
        ids = unpack_ids(data["item_ids_utf8"], data["item_ids_offsets"])
        assert list(ids) == list(matrix.item_ids)
        assert all(data[name].dtype != object for name in data.files)
        assert len(data.files) > 4  # the model's own arrays, not only the id maps
