"""Fold-in reproduces each trained model for its own users and personalises brand-new users.

A matrix with four taste clusters: users mostly consume items of their cluster, items carry
their cluster as genre. Scoring a training user's own row at request time must rank items as
the fitted model does; a new user who liked a few items of one cluster must get that cluster.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.foldin import FoldInModel, FoldInSpec, ItemSide
from recsys.foldin.blend import Blend
from recsys.models.als import ALSParams, ALSRecommender, weight_confidence
from recsys.models.content import ContentRecommender, item_vectors
from recsys.models.ease import EASERecommender
from recsys.models.hybrid import HybridRecommender
from recsys.models.knn import ItemKNNRecommender
from recsys.models.matrix import InteractionMatrix
from recsys.models.popularity import PopularityRecommender

CLUSTERS = 4
N_USERS, N_ITEMS = 240, 120
ITEM_IDS = np.array([f"i{i}" for i in range(N_ITEMS)], dtype=object)
CLUSTER_OF_ITEM = np.arange(N_ITEMS) % CLUSTERS
ITEMS = pd.DataFrame(
    {
        "item_id": ITEM_IDS,
        "title": [f"title {i}" for i in range(N_ITEMS)],
        "genres": [[f"Genre{c}"] for c in CLUSTER_OF_ITEM],
        "tags": [[] for _ in range(N_ITEMS)],
        "year": 2000,
    }
)


@pytest.fixture(scope="module")
def matrix() -> InteractionMatrix:
    rng = np.random.default_rng(3)
    rows, cols, values = [], [], []
    for user in range(N_USERS):
        cluster = user % CLUSTERS
        own = np.flatnonzero(cluster == CLUSTER_OF_ITEM)
        other = np.flatnonzero(cluster != CLUSTER_OF_ITEM)
        picked = np.concatenate(
            [rng.choice(own, rng.integers(4, 15), replace=False), rng.choice(other, 2)]
        )
        picked = np.unique(picked)
        rows += [user] * len(picked)
        cols += list(picked)
        values += list(rng.integers(1, 6, len(picked)).astype(float))
    confidence = sp.csr_matrix(
        (np.array(values, np.float32), (rows, cols)), shape=(N_USERS, N_ITEMS)
    )
    seen = confidence.copy()
    seen.data[:] = 1
    return InteractionMatrix(
        confidence=confidence,
        seen=seen,
        user_ids=np.array([f"u{u}" for u in range(N_USERS)], dtype=object),
        item_ids=ITEM_IDS,
    )


MODELS = {
    "als": lambda: ALSRecommender(ALSParams(factors=8, regularization=0.1, iterations=15)),
    "als_bm25": lambda: ALSRecommender(ALSParams(factors=8, iterations=15), weighting="bm25"),
    "als_tfidf": lambda: ALSRecommender(ALSParams(factors=8, iterations=15), weighting="tfidf"),
    "ease": lambda: EASERecommender(l2=50.0),
    "item_knn": lambda: ItemKNNRecommender(neighbours=30),
    "content_tfidf": lambda: ContentRecommender(ITEMS),
    "hybrid": lambda: HybridRecommender(
        ItemKNNRecommender(neighbours=30), ContentRecommender(ITEMS), 0.7, 5
    ),
}


def fold_in_for(model, matrix: InteractionMatrix) -> FoldInModel:
    parts = model.fold_in_parts()
    spec = FoldInSpec.of(model.name, parts, Blend(), event_weights={})
    items = ItemSide(
        item_ids=matrix.item_ids,
        content=item_vectors(ITEMS, matrix.item_ids)[0],
        factors=parts.factors,
        item_weights=parts.item_weights,
        length_norm=parts.length_norm,
    )
    return FoldInModel(spec, items)


def user_row(matrix: InteractionMatrix, user: int) -> tuple[np.ndarray, np.ndarray]:
    row = matrix.confidence[user]
    return row.indices.astype(np.int64), row.data.astype(np.float64)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fold_in_ranks_a_training_user_as_the_fitted_model_does(name, matrix):
    model = MODELS[name]().fit(matrix)
    fold_in = fold_in_for(model, matrix)
    overlaps = []
    for user in range(0, N_USERS, 7):
        columns, confidences = user_row(matrix, user)
        if len(columns) < 5:
            continue  # the non-hybrid fold-in blends in content there, by design
        expected = model.scores(np.array([user]))[0]
        got = fold_in.scores(columns, confidences)
        seen = matrix.seen[user].indices
        expected[seen] = got[seen] = -np.inf
        top = lambda s: set(np.argsort(-s)[:10])  # noqa: E731
        overlaps.append(len(top(expected) & top(got)) / 10)
    # item-item and content are the same arithmetic; ALS was fitted by conjugate gradient and
    # is solved exactly here, so its lists agree closely rather than exactly.
    assert np.mean(overlaps) >= (0.85 if name.startswith("als") else 0.99), overlaps


@pytest.mark.parametrize("weighting", ["none", "bm25", "tfidf"])
def test_als_user_factors_solve_the_same_system_as_implicit(weighting, matrix):
    from implicit.als import AlternatingLeastSquares

    params = ALSParams(factors=8, regularization=0.1, iterations=10, alpha=2.0)
    model = ALSRecommender(params, weighting=weighting).fit(matrix)
    scorer = fold_in_for(model, matrix).collaborative  # the factor scorer
    weighted = weight_confidence(matrix, weighting).confidence
    reference = AlternatingLeastSquares(factors=8, regularization=0.1, alpha=2.0, random_state=0)
    reference.item_factors = model.model.item_factors
    for user in (0, 5, 17):
        columns, confidences = user_row(matrix, user)
        np.testing.assert_allclose(
            scorer.weighted(columns, confidences), weighted[user].data, rtol=1e-5
        )
        expected = reference.recalculate_user(user, weighted[user])
        got = scorer.user_factors(columns, confidences)
        np.testing.assert_allclose(got, np.ravel(expected), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_brand_new_user_gets_the_cluster_they_liked(name, matrix):
    fold_in = fold_in_for(MODELS[name]().fit(matrix), matrix)
    liked = np.flatnonzero(CLUSTER_OF_ITEM == 2)[:6]
    scores = fold_in.scores(liked, np.full(len(liked), 4.0))
    scores[liked] = -np.inf
    top = np.argsort(-scores)[:5]
    assert (CLUSTER_OF_ITEM[top] == 2).all(), (name, CLUSTER_OF_ITEM[top])


def test_few_interactions_blend_content_into_collaborative_scores(matrix):
    fold_in = fold_in_for(ItemKNNRecommender(neighbours=30).fit(matrix), matrix)
    one = np.flatnonzero(CLUSTER_OF_ITEM == 1)[:1]
    blended = fold_in.scores(one, np.array([4.0]))
    # Content alone ties every other Genre1 item; the blend keeps them on top and breaks ties.
    top = np.argsort(-np.where(np.arange(N_ITEMS) == one[0], -np.inf, blended))[:5]
    assert (CLUSTER_OF_ITEM[top] == 1).all()
    assert len(set(np.round(blended[top], 6))) > 1


def test_popularity_and_empty_histories_have_no_personal_scores(matrix):
    popularity = fold_in_for(PopularityRecommender().fit(matrix), matrix)
    assert popularity.scores(np.array([1, 2]), np.array([3.0, 3.0])) is None
    ease = fold_in_for(EASERecommender(l2=50.0).fit(matrix), matrix)
    assert ease.scores(np.array([1]), np.array([0.0])) is None  # a dislike only
    assert ease.scores(np.array([], np.int64), np.array([])) is None


def test_spec_survives_json():
    spec = FoldInSpec(algorithm="als", collaborative="factors", weighting="bm25", alpha=2.0)
    assert FoldInSpec.from_json({**spec.to_json(), "added_later": 1}) == spec


@pytest.mark.parametrize("name", ["als", "ease", "item_knn", "content_tfidf"])
def test_contributions_split_each_score_over_the_history_exactly(name, matrix):
    fold_in = fold_in_for(MODELS[name]().fit(matrix), matrix)
    columns, confidences = user_row(matrix, 9)
    targets = np.array([0, 5, 50])
    # The model's own side: content for content_tfidf, the collaborative scorer otherwise.
    scorer = fold_in.content if name == "content_tfidf" else fold_in.collaborative
    raw = scorer.parts(columns, confidences.astype(np.float64), targets)
    # The parts add up to the score the model gives each target.
    np.testing.assert_allclose(
        raw.sum(axis=1), fold_in.scores(columns, confidences)[targets], rtol=1e-3, atol=1e-5
    )
    shares = fold_in.contributions(columns, confidences, targets)
    assert shares.shape == (3, len(columns))
    np.testing.assert_allclose(shares.sum(axis=1)[shares.sum(axis=1) > 0], 1.0, rtol=1e-6)


def test_the_item_a_user_had_most_in_common_with_explains_most(matrix):
    fold_in = fold_in_for(ItemKNNRecommender(neighbours=30).fit(matrix), matrix)
    cluster0 = np.flatnonzero(CLUSTER_OF_ITEM == 0)
    cluster3 = np.flatnonzero(CLUSTER_OF_ITEM == 3)
    history = np.array([cluster0[0], cluster0[1], cluster0[2], cluster3[0], cluster3[1]])
    shares = fold_in.contributions(history, np.full(5, 3.0), np.array([cluster3[5]]))[0]
    assert shares[3:].sum() > 0.8  # the Genre3 item is explained by the Genre3 history
