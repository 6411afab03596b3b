import pandas as pd
import pytest

from recsys.evaluation.split import SplitConfig, holdout_split


def _pairs() -> pd.DataFrame:
    rows = []
    for user, n in (("u1", 10), ("u2", 5), ("u3", 1)):
        for i in range(n):
            rows.append(
                {
                    "user_id": user,
                    "item_id": f"{user}-i{i}",
                    "confidence": 4.0,
                    "disliked": 0,
                    "last_at": pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=i),
                    "rating": 5.0 if i % 2 == 0 else 2.0,
                }
            )
    return pd.DataFrame(rows)


def test_each_users_most_recent_fifth_is_held_out():
    split = holdout_split(_pairs(), SplitConfig(holdout_fraction=0.2))
    held = split.test.groupby("user_id")["item_id"].apply(set).to_dict()
    assert held == {"u1": {"u1-i8", "u1-i9"}, "u2": {"u2-i4"}}  # u3 keeps its only pair
    latest_train = split.train.groupby("user_id")["last_at"].max()
    earliest_test = split.test.groupby("user_id")["last_at"].min()
    assert (latest_train.loc[earliest_test.index] < earliest_test).all()


def test_relevance_uses_the_rating_threshold():
    split = holdout_split(_pairs(), SplitConfig(holdout_fraction=0.2, rating_threshold=4.0))
    relevant = set(split.test.loc[split.test["relevant"], "item_id"])
    assert relevant == {"u1-i8", "u2-i4"}  # u1-i9 was rated 2 stars


def test_global_cut_holds_out_the_latest_pairs_of_everyone():
    split = holdout_split(_pairs(), SplitConfig(holdout_fraction=0.2, mode="global"))
    assert split.test["last_at"].min() > split.train["last_at"].max()


def test_bad_fraction_is_refused():
    with pytest.raises(ValueError, match="holdout_fraction"):
        holdout_split(_pairs(), SplitConfig(holdout_fraction=1.5))


def test_old_mode_names_are_the_named_protocols():
    assert SplitConfig(mode="per_user").protocol == "temporal"
    assert SplitConfig(mode="global").protocol == "global_time"
    with pytest.raises(ValueError, match="use one of temporal, global_time, random"):
        holdout_split(_pairs(), SplitConfig(mode="k_fold"))


def test_leave_last_out_holds_out_each_users_latest_pair():
    split = holdout_split(_pairs(), SplitConfig(mode="leave_last_out"))
    held = split.test.groupby("user_id")["item_id"].apply(set).to_dict()
    assert held == {"u1": {"u1-i9"}, "u2": {"u2-i4"}}  # u3 has one pair: it stays in train


def test_random_holds_out_the_same_share_per_user_reproducibly():
    split = holdout_split(_pairs(), SplitConfig(mode="random", seed=3))
    again = holdout_split(_pairs(), SplitConfig(mode="random", seed=3))
    other = holdout_split(_pairs(), SplitConfig(mode="random", seed=4))
    assert split.test["item_id"].tolist() == again.test["item_id"].tolist()
    assert split.test.groupby("user_id").size().to_dict() == {"u1": 2, "u2": 1}
    assert set(split.test["item_id"]) != {"u1-i8", "u1-i9", "u2-i4"} or set(
        other.test["item_id"]
    ) != {"u1-i8", "u1-i9", "u2-i4"}  # not simply the latest
    assert len(split.train) + len(split.test) == len(_pairs())


def test_a_zero_threshold_counts_every_held_out_pair():
    pairs = _pairs().assign(disliked=1)
    split = holdout_split(pairs, SplitConfig(rating_threshold=0))
    assert split.test["relevant"].all()
    assert "every held-out pair" in SplitConfig(rating_threshold=0).describe()
    assert SplitConfig().describe().startswith("temporal: held out each user's latest 20%")
