"""The two-stage ranker: it learns what no single family sees, its features never look past a
user's cut-off, and it wins its place only by the champion rule."""

import pickle
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.evaluation.evaluate import recommend_blocks
from recsys.evaluation.split import SplitConfig
from recsys.models.matrix import build_matrix
from recsys.ranking import bundle, features
from recsys.ranking.feature_source import staged
from recsys.ranking.features import ITEM_FEATURES
from recsys.ranking.request_time import (
    OnlineRanker,
    Pairs,
    Rule,
    bundle_arrays,
    genre_affinity,
    user_features,
)
from recsys.training import families, generation
from recsys.training.selection import OBJECTIVE, SelectionConfig, select

START = datetime(2024, 1, 1, tzinfo=UTC)
GENRES = 6


def fresh_of_favourite_genre(users=360, items=600, events=22, noise=0.15, seed=3):
    """A world where the right answer needs a cross feature: each user only takes items of their
    favourite genre released in the last 20 days (plus some noise, rated low). Popularity, genre
    similarity and co-occurrence each see half of it; only genre x item age sees all of it."""
    rng = np.random.default_rng(seed)
    genre = np.arange(items) % GENRES
    released = rng.uniform(0, 300, items)
    rows = []
    for user in range(users):
        favourite = rng.integers(GENRES)
        first = rng.uniform(20, 120)
        seen: set[int] = set()
        for day in np.sort(rng.uniform(first, 300, events)):
            if rng.random() < noise:
                item, rating = int(rng.integers(items)), 2.0
            else:
                fresh = np.flatnonzero(
                    (genre == favourite) & (released <= day) & (released > day - 20)
                )
                fresh = [i for i in fresh if i not in seen]
                if not fresh:
                    continue
                item, rating = int(rng.choice(fresh)), 5.0
            if item in seen:
                continue
            seen.add(item)
            rows.append((f"u{user}", f"i{item}", rating, START + timedelta(days=float(day))))
    pairs = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "last_at"])
    pairs = pairs.assign(confidence=pairs["rating"].astype("float32"), disliked=0)
    catalogue = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(items)],
            "title": [f"Item {i}" for i in range(items)],
            "genres": [[f"g{g}"] for g in genre],
            "tags": [[] for _ in range(items)],
            "year": 2024,
        }
    )
    return pairs, catalogue


@pytest.fixture(scope="module")
def cross_world():
    return fresh_of_favourite_genre()


def test_the_ranker_beats_every_single_family_when_the_answer_needs_a_cross_feature(
    cross_world, warehouse
):
    pairs, items = cross_world
    budget = {"als": 2, "item_knn": 2, "ease": 2, "content_tfidf": 1, "ranker": 2}
    selection = select(pairs, items, SelectionConfig(budget=budget), feature_store=warehouse)
    test = {f: r.test_metrics[OBJECTIVE] for f, r in selection.families.items() if r.best}
    ranker = test.pop("ranker")
    assert selection.champion == "ranker"
    assert ranker > max(test.values()) * 1.1, (ranker, test)
    assert ranker > selection.baseline_test[OBJECTIVE] * 2
    # The union of candidates holds more than any one retriever's list.
    recall = selection.retrieval_recall
    assert recall["union"] >= max(v for k, v in recall.items() if k != "union")


def test_item_features_never_see_past_the_users_cut_off(cross_world, warehouse):
    """Leakage: a user's item features are as of their own cut-off, so other users' later pairs
    (and anything else after it) cannot change them, however telling they would be."""
    pairs, items = cross_world
    user = pairs["user_id"].iloc[0]
    cut_off = pairs.loc[pairs["user_id"] == user, "last_at"].max()
    candidates = pd.DataFrame({"user_id": user, "item_id": items["item_id"].iloc[:200]})
    past_only = pairs[(pairs["last_at"] <= cut_off) | (pairs["user_id"] == user)]
    with staged(warehouse, pairs, items, SplitConfig()) as everything:
        seen_with_future = everything.features(candidates)
    with staged(warehouse, past_only, items, SplitConfig()) as past:
        seen_without = past.features(candidates)
    assert len(pairs) > len(past_only)  # there is a future to leak
    pd.testing.assert_frame_equal(seen_with_future, seen_without)
    # ...and it is not because the features are empty: items do have a past.
    assert seen_without[list(ITEM_FEATURES)].notna().any().all()
    assert (seen_without["i_users"] > 0).sum() > 20


def test_features_of_a_tiny_world_match_a_hand_count(warehouse):
    day = lambda d: datetime(2020, 1, d, tzinfo=UTC)  # noqa: E731
    pairs = pd.DataFrame(
        [
            ("u1", "a", 4.0, 0, day(1), 4.0),
            ("u1", "b", 5.0, 0, day(10), 5.0),
            ("u2", "a", 2.0, 0, day(5), 2.0),
            ("u2", "c", 4.0, 0, day(20), 4.0),
            ("u3", "c", 4.0, 0, day(2), None),
        ],
        columns=["user_id", "item_id", "confidence", "disliked", "last_at", "rating"],
    )
    items = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "genres": [["x", "y"], ["x"], ["z"]], "year": [1999, 2001, 0]}
    )
    candidates = pd.DataFrame({"user_id": ["u1", "u2", "u3", "nobody"], "item_id": list("cbaa")})
    with staged(warehouse, pairs, items, SplitConfig()) as source:
        found = source.features(candidates)
    u1_c, u2_b, u3_a, nobody = (found.iloc[n] for n in range(4))
    # u1's cut-off is Jan 10: of item c's pairs only u3's (Jan 2, unrated, confident) counts.
    assert (u1_c["i_users"], u1_c["i_positive"], u1_c["i_age_days"]) == (1, 1, 8)
    assert np.isnan(u1_c["i_mean_rating"]) and u1_c["u_mean_rating"] == 4.5
    # u2 (Jan 20) sees u1's 5 stars on b; u2 rated genre x one star under their own mean.
    assert (u2_b["i_mean_rating"], u2_b["i_days_since_last"]) == (5, 10)
    assert (u2_b["x_genre_share_max"], u2_b["x_genre_preference"]) == (0.5, -1.0)
    # u3 (Jan 2) sees only u1's Jan 1 pair on a, not u2's Jan 5 one.
    assert (u3_a["i_users"], u3_a["i_mean_rating"], u3_a["i_year"]) == (1, 4, 1999)
    assert np.isnan(nobody["u_pairs"]) and np.isnan(nobody["i_users"])


def test_request_time_user_features_equal_the_warehouse_sql(cross_world, warehouse):
    """Serving's Python twin of the user features (`online.user_features`, fold-in) against the
    SQL the batch path uses, on the same pairs and moment: no training/serving skew."""
    pairs, items = cross_world
    pairs = pairs.assign(disliked=(pairs["rating"] < 2.5).astype(int))  # some dislikes too
    users = sorted(pairs["user_id"].unique())[:25]
    with staged(warehouse, pairs, items, SplitConfig()) as source, warehouse.session() as client:
        expected = features.users(client, source.sources, None)
        genres = features.user_genres(client, source.sources)
    column = {item: c for c, item in enumerate(items["item_id"])}
    names = sorted({g for gs in items["genres"] for g in gs})
    membership = np.zeros((len(items), len(names)), np.float32)
    for row, gs in enumerate(items["genres"]):
        membership[row, [names.index(g) for g in gs]] = 1
    for user in users:
        own = pairs[pairs["user_id"] == user]
        mine = as_pairs(own, column)
        as_of = expected.loc[user, "as_of"].timestamp()
        got = user_features(mine, as_of, Rule())
        for name in features.USER_FEATURES:
            assert got[name] == pytest.approx(expected.loc[user, name], rel=1e-5, abs=1e-6), name
        share, preference = genre_affinity(mine, sp.csr_matrix(membership))
        sql = genres[genres["user_id"] == user].set_index("genre")
        for genre, row in sql.iterrows():
            assert share[names.index(genre)] == pytest.approx(row["share"], rel=1e-6)
            assert preference[names.index(genre)] == pytest.approx(row["preference"], abs=1e-6)


def test_request_time_two_stages_rank_like_the_batch_ranker(cross_world, warehouse):
    """The API's two stages (`OnlineRanker`, from the published bundle) give a user the same
    list as the batch ranker, on the same data and moment, where the retrievers' fold-in is
    exact (item-kNN, content, popularity, recent neighbours)."""
    pairs, items = cross_world
    params = {
        "retrievers": {
            "item_knn": {"neighbours": 30, "similarity": "cosine"},
            "content_tfidf": {},
            "popularity": {},
        },
        "anchor": "item_knn",
        "depth": 40,
        "trees": 40,
        **{"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 20},
        "feature_fraction": 1.0,
    }
    ranker = families.build("ranker", params, families.BuildOptions(items=items))
    with staged(warehouse, pairs, items, SplitConfig()) as source:
        train = build_matrix([pairs[["user_id", "item_id", "confidence", "disliked"]]])
        ranker.bind(source).fit(train)
        now = datetime(2025, 1, 1, tzinfo=UTC)
        ranker.bind(replace(source, now=now, _tables=None))
        online = OnlineRanker(bundle_arrays(bundle.to_bytes(ranker)))
        rows = np.arange(0, 300, 37)
        batch_columns, _ = ranker.recommend(rows, 10)
    column = {item: c for c, item in enumerate(train.item_ids)}
    for row, expected in zip(rows, batch_columns, strict=True):
        own = pairs[pairs["user_id"] == train.user_ids[row]]
        mine = as_pairs(own, column)
        got, _ = online.rank(mine, now.timestamp(), 10)
        assert list(got) == list(expected), train.user_ids[row]


def test_threads_generate_the_rankers_lists_and_explanations_as_one_thread_does(
    cross_world, warehouse
):
    """A published ranker (features as of one moment) scores buckets on several threads at
    once, in this step or a later one: the same lists, scores and lifts as on one thread."""
    pairs, items = cross_world
    params = {
        "retrievers": {"item_knn": {"neighbours": 30, "similarity": "cosine"}, "popularity": {}},
        "depth": 40,
        "trees": 30,
        **{"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 20},
        "feature_fraction": 1.0,
    }
    ranker = families.build("ranker", params, families.BuildOptions(items=items))
    ranker.recommend_block_size = 16  # several blocks per bucket
    with staged(warehouse, pairs, items, SplitConfig()) as source:
        train = build_matrix([pairs[["user_id", "item_id", "confidence", "disliked"]]])
        ranker.bind(source).fit(train)
        # Evaluation scores blocks of test users on threads too (features as of each cut-off).
        blocks = np.array_split(generation.active_rows(ranker), 5)
        ranker.preferred_workers = 3
        threaded = list(recommend_blocks(ranker, blocks, 8))
        del ranker.preferred_workers  # back to the class's choice
        for rows, columns in zip(blocks, threaded, strict=True):
            np.testing.assert_array_equal(columns, ranker.recommend(rows, 8)[0])
        ranker.bind(replace(source, now=datetime(2025, 1, 1, tzinfo=UTC), _tables=None))
        ranker.as_of = ranker.source.now  # as `attach` sets it for a published ranker
        assert ranker.parallel_safe
        one, three = (list(generation.generate(ranker, 8, 6, workers)) for workers in (1, 3))
    # Read back in a later step (the IO manager's pickle) after its source's tables are gone:
    # it scores with the features it was published with, read no more.
    later = pickle.loads(pickle.dumps(ranker)).reattach(warehouse)
    again = list(generation.generate(later, 8, 6, 2))
    for a, b in [*zip(one, three, strict=True), *zip(one, again, strict=True)]:
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.columns, b.columns)
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.lifted_by.features, b.lifted_by.features)
        np.testing.assert_array_equal(a.lifted_by.values, b.lifted_by.values)
    assert sum(len(b.rows) for b in three) == len(generation.active_rows(ranker))
    assert (three[0].lifted_by.features[:, :5, 0] >= 0).any()  # explained, not empty


def test_a_catalogue_without_genres_still_gets_a_ranker(cross_world, warehouse):
    """Any catalogue: no genres at all leaves the cross features at zero, nothing fails."""
    pairs, items = cross_world
    bare = items.assign(genres=[[] for _ in range(len(items))], year=0)
    budget = {"item_knn": 1, "ranker": 1}
    selection = select(pairs, bare, SelectionConfig(budget=budget), feature_store=warehouse)
    ranker = selection.families["ranker"]
    assert ranker.best is not None and ranker.test_metrics[OBJECTIVE] > 0


def test_sparse_retrieval_ranks_reached_items_as_the_dense_path_does():
    from recsys.models.base import sparse_top_k, top_k

    scores = sp.random(50, 400, density=0.05, random_state=4, format="csr", dtype=np.float32)
    sparse_cols, sparse_vals = sparse_top_k(scores, 30)
    dense_cols, dense_vals = top_k(scores.toarray(), 30)
    for row in range(50):
        reached = sparse_cols[row] >= 0
        assert reached.sum() == min(30, scores[row].nnz)  # never an item it did not reach
        assert np.allclose(sparse_vals[row][reached], dense_vals[row][: reached.sum()])
        assert set(sparse_cols[row][reached]) <= set(scores[row].indices)


def as_pairs(own: pd.DataFrame, column: dict[str, int]) -> Pairs:
    """One user's rows of a pairs frame as the API's fold-in holds them."""
    return Pairs(
        columns=own["item_id"].map(column).to_numpy(),
        confidences=own["confidence"].to_numpy(np.float64),
        disliked=own["disliked"].to_numpy().astype(bool),
        last_at=own["last_at"].map(lambda t: t.timestamp()).to_numpy(),
        ratings=own["rating"].to_numpy(np.float64),
    )


def test_selection_hands_the_ranker_the_retrievers_it_already_fitted(
    cross_world, warehouse, monkeypatch
):
    """The ranker's retrievers are the families' best params on the very matrices selection
    fitted them on, and its fit on the test split's train part repeats the split it was tuned
    on: retrievers and labelled candidates are taken, not rebuilt, and the ranker still wins."""
    from recsys.models.als import ALSRecommender

    fits = []
    fit = ALSRecommender.fit

    def counted(self, train, **options):
        fits.append(train)
        return fit(self, train, **options)

    monkeypatch.setattr(ALSRecommender, "fit", counted)
    pairs, items = cross_world
    budget = {"als": 1, "ranker": 1}
    selection = select(pairs, items, SelectionConfig(budget=budget), feature_store=warehouse)
    assert selection.champion == "ranker"
    # ALS on the validation split (its trial) and on the test split's train part (its score),
    # and nothing more: without reuse the ranker fits it on both again and on its own split.
    assert len(fits) == 2, [m.shape for m in fits]
    assert len({id(m) for m in fits}) == 2


def test_cross_features_are_the_same_from_dense_and_sparse_genre_rows(monkeypatch):
    """Affinity held dense (the usual vocabulary) or sparse (a vast one): same numbers."""
    rng = np.random.default_rng(0)
    users, items, genres = 30, 40, 7
    share = sp.random(users, genres, density=0.4, format="csr", random_state=1)
    preference = sp.random(users, genres, density=0.4, format="csr", random_state=2)
    preference.data -= 0.5  # preferences go both ways
    member = sp.random(items, genres, density=0.3, format="csr", random_state=3)
    member.data[:] = 1.0
    u, i = rng.integers(-1, users, 500), rng.integers(-1, items, 500)
    dense = features.genre_affinity(u, i, features.GenreAffinity(share, preference, member))
    monkeypatch.setattr(features, "DENSE_AFFINITY_CELLS", 0)
    sparse = features.genre_affinity(u, i, features.GenreAffinity(share, preference, member))
    for name in features.CROSS_FEATURES:
        np.testing.assert_allclose(dense[name], sparse[name], err_msg=name)
    assert (dense["x_genre_share_max"] > 0).sum() > 100


def test_item_history_as_of_one_moment_needs_only_two_rows_per_item(cross_world, warehouse):
    """A published ranker reads each item's latest moment before now and before now - 30 days,
    not the whole timeline: the same history as a lookup in the whole timeline, also for a
    moment in the middle of the log (later pairs left out) and for items it never saw."""
    pairs, items = cross_world
    ids = np.append(items["item_id"].to_numpy(), "never-seen")
    with staged(warehouse, pairs, items, SplitConfig()) as source, warehouse.session() as client:
        whole = features.item_timeline(client, source.sources)
        for moment in (pairs["last_at"].quantile(0.5), pairs["last_at"].max()):
            now_ms = int(pd.Timestamp(moment).value // 1_000_000)
            reduced = features.item_timeline(client, source.sources, now_ms)
            at = np.full(len(ids), now_ms)
            expected = whole.history(whole.items.get_indexer(ids), at)
            found = reduced.history(reduced.items.get_indexer(ids), at)
            assert len(reduced.at_ms) <= 2 * len(reduced.items) < len(whole.at_ms)
            for name in features.ITEM_HISTORY:
                np.testing.assert_array_equal(found[name], expected[name], err_msg=name)
            assert (expected["i_users_30d"] > 0).any() and (expected["i_users"] == 0).any()
