"""Items the version lacks, placed by content in its own vocabulary."""

import numpy as np
import pandas as pd

from recsys.foldin.new_items import NewItems, join_neighbours, quantile_scores
from recsys.models.content import item_vectors

KNOWN = pd.DataFrame(
    {
        "item_id": ["a", "b", "c"],
        "title": ["Space Heist", "Quiet Farm", "Space Farm"],
        "genres": [["Sci-Fi"], ["Drama"], ["Sci-Fi", "Drama"]],
        "tags": [["heist"], [], []],
        "year": [2001, 1990, 2005],
    }
)


def test_a_new_item_reads_like_what_it_resembles_and_joins_its_list():
    ids = KNOWN["item_id"].to_numpy(dtype=object)
    vectors, vocabulary = item_vectors(KNOWN, ids)
    row = ("new", "Space Heist Returns", ["Sci-Fi"], ["heist"], 2003)
    new = NewItems.build({"new": row}, vocabulary, ids, vectors)
    assert new.similar["new"][0][0] == "a"  # "returns" is not in the vocabulary: dropped
    assert dict(new.joins["a"])["new"] == 0  # closer to a than any known item
    listed = join_neighbours([("c", 0.4), ("b", 0.1)], new.joins["a"])
    assert [i for i, _ in listed] == ["new", "c", "b"]
    assert join_neighbours([], new.joins["a"]) == []  # past the end: stays out
    # Removing the row leaves nothing new.
    assert len(new.with_rows({"new": None}, vocabulary, ids, vectors)) == 0


def test_a_new_item_takes_the_rank_its_content_score_has():
    scores = np.array([5.0, 3.0, 1.0, -np.inf], dtype=np.float32)
    content = np.array([0.9, 0.5, 0.1, 0.0])
    placed = quantile_scores(scores, content, np.array([0.95, 0.0]))
    assert placed[0] == 5.0  # reads better than every known item: the best score
    assert placed[1] < 3.0  # reads like nothing the user had: near the bottom


def test_places_in_known_lists_are_kept_for_unchanged_items_and_found_for_changed_ones():
    ids = KNOWN["item_id"].to_numpy(dtype=object)
    vectors, vocabulary = item_vectors(KNOWN, ids)
    heist = ("n1", "Space Heist", ["Sci-Fi"], ["heist"], 2001)
    farm = ("n2", "Quiet Farm", ["Drama"], [], 1990)
    both = NewItems.build({"n1": heist, "n2": farm}, vocabulary, ids, vectors)
    one_by_one = NewItems.build({"n1": heist}, vocabulary, ids, vectors).with_rows(
        {"n2": farm}, vocabulary, ids, vectors
    )
    assert one_by_one.entries == both.entries and one_by_one.joins == both.joins
    moved = one_by_one.with_rows({"n1": ("n1", *farm[1:])}, vocabulary, ids, vectors)
    assert dict(moved.joins["b"])["n1"] == 0 and "n1" not in dict(moved.joins.get("a", []))
