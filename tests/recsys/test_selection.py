"""Model selection on a small synthetic world: bounded search, honest champion, clear skips."""

import pandas as pd
import pytest

from recsys.data.synthetic import SyntheticConfig, SyntheticWorld
from recsys.evaluation.publication import offline_replacement_decision
from recsys.training.selection import OBJECTIVE, SelectionConfig, select


@pytest.fixture(scope="module")
def world():
    synthetic = SyntheticWorld(SyntheticConfig(users=300, items=120, events=20_000, seed=5))
    events = pd.concat(synthetic.events())
    weights = {
        "view_start": 1.0,
        "view_complete": 3.0,
        "like": 4.0,
        "add_to_list": 2.0,
        "search": 0.5,
        "rating": 0.8,
        "dislike": 0.0,
    }
    events["weight"] = events["event_type"].map(weights)
    events.loc[events["event_type"] == "rating", "weight"] *= events["value"]
    pairs = (
        events.groupby(["user_id", "item_id"])
        .agg(
            confidence=("weight", "sum"),
            disliked=("event_type", lambda t: int((t == "dislike").any())),
            last_at=("timestamp", "max"),
        )
        .reset_index()
    )
    pairs.loc[pairs["disliked"] == 1, "confidence"] = 0.0
    return pairs, synthetic.items()


def test_champion_is_the_best_validation_score_and_beats_popularity(world):
    pairs, items = world
    seen = []
    budget = {"als": 3, "item_knn": 2, "ease": 2, "content_tfidf": 1, "hybrid": 2}
    selection = select(pairs, items, SelectionConfig(budget=budget), on_trial=seen.append)
    assert [t.family for t in seen].count("als") == 3 and len(seen) == sum(budget.values())
    best = {f: r.best.metrics[OBJECTIVE] for f, r in selection.families.items() if r.best}
    assert selection.champion == max(best, key=best.get)
    champion = selection.champion_result
    assert champion.test_metrics[OBJECTIVE] > selection.baseline_test[OBJECTIVE]
    assert {
        "precision_at_10",
        "recall_at_20",
        "recall_at_50",
        "ndcg_at_50",
        "map_at_10",
        "coverage_at_10",
        "cold_ndcg_at_10",
        "warm_ndcg_at_10",
        "diversity_at_10",
    } <= set(champion.test_metrics)
    # Candidate recall of each family's top 100 and of their union, on the same test split.
    recall = selection.retrieval_recall
    assert set(recall) == {*best, "popularity", "union"}
    assert all(0.0 <= value <= 1.0 for value in recall.values())
    assert recall["union"] >= max(v for k, v in recall.items() if k != "union")
    # The recall of a top 20 list equals the evaluation's recall@20: the same lists.
    small = select(pairs, items, SelectionConfig(budget={"ease": 1}, retrieval_n=20))
    assert small.retrieval_recall["ease"] == pytest.approx(
        small.families["ease"].test_metrics["recall_at_20"]
    )


def test_first_trial_of_each_family_is_its_configured_default(world):
    pairs, items = world
    seen = []
    select(
        pairs,
        items,
        SelectionConfig(
            budget={"ease": 1, "hybrid": 1}, collab_weight=0.6, min_interactions_for_collab=3
        ),
        on_trial=seen.append,
    )
    assert seen[0].params == {"l2": 500.0, "binary": True}
    assert seen[1].params["collab_weight"] == 0.6 and seen[1].params["min_interactions"] == 3


def test_a_family_that_does_not_fit_is_skipped_with_the_reason(world):
    pairs, items = world
    selection = select(
        pairs, items, SelectionConfig(budget={"als": 1, "ease": 2}, ease_max_items=10)
    )
    assert selection.families["ease"].best is None
    assert "limit is 10 items" in selection.families["ease"].skipped
    assert selection.champion == "als"


def test_the_published_config_is_rescored_on_the_same_split(world):
    pairs, items = world
    selection = select(
        pairs,
        items,
        SelectionConfig(budget={"item_knn": 1}),
        incumbent=("item_knn", {"neighbours": 50, "similarity": "cosine"}),
    )
    # Same config, same split: the incumbent scores exactly what the challenger scores.
    assert selection.incumbent_test[OBJECTIVE] == pytest.approx(
        selection.champion_result.test_metrics[OBJECTIVE]
    )


@pytest.mark.parametrize(
    ("new", "old", "min_improve", "publish"),
    [
        (0.10, None, 0.01, True),
        (0.10, 0.10, 0.0, True),
        (0.105, 0.10, 0.01, False),
        (0.12, 0.10, 0.01, True),
        (0.08, 0.10, 0.0, False),
    ],
)
def test_offline_replacement_decision(new, old, min_improve, publish):
    incumbent = None if old is None else {OBJECTIVE: old}
    decided, reason = offline_replacement_decision({OBJECTIVE: new}, incumbent, min_improve)
    assert decided is publish
    assert ("kept the published model" in reason) is (not publish)


def test_publication_role_champion_challenger_or_none():
    from recsys.evaluation.publication import publication_role

    champion = {"ndcg_at_10": 0.10}
    assert publication_role({"ndcg_at_10": 0.05}, None, 0.0)[0] == "champion"  # the first
    assert publication_role({"ndcg_at_10": 0.11}, champion, 0.0)[0] == "champion"
    assert publication_role({"ndcg_at_10": 0.099}, champion, 0.0)[0] is None  # margin 0: never
    role, why = publication_role({"ndcg_at_10": 0.099}, champion, 0.0, "auto", 0.005)
    assert role == "challenger" and "within challenger_margin" in why
    assert publication_role({"ndcg_at_10": 0.09}, champion, 0.0, "auto", 0.005)[0] is None
    assert publication_role({"ndcg_at_10": 0.20}, champion, 0.0, "challenger")[0] == "challenger"
    assert publication_role({"ndcg_at_10": 0.05}, champion, 0.0, "champion")[0] is None
