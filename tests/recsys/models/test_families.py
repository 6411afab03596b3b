"""The registry of model families: one record each, and nothing else to touch to add one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys.models.matrix import InteractionMatrix
from recsys.models.popularity import PopularityRecommender
from recsys.training import families
from recsys.training.families import FAMILIES, BuildOptions, Family
from recsys.training.selection import SelectionConfig, select
from tests.recsys.test_selection import world  # noqa: F401  (the module's fixture)

ITEMS = pd.DataFrame(
    {
        "item_id": [f"i{n}" for n in range(12)],
        "title": [f"Title {n}" for n in range(12)],
        "genres": [["A"] if n % 2 else ["B"] for n in range(12)],
        "tags": [[] for _ in range(12)],
        "year": [2000 + n for n in range(12)],
    }
)


def _matrix() -> InteractionMatrix:
    rng = np.random.default_rng(0)
    dense = (rng.random((20, 12)) < 0.4).astype(np.float32) * 3
    confidence = sp.csr_matrix(dense)
    return InteractionMatrix(
        confidence=confidence,
        seen=(confidence > 0).astype(np.float32).tocsr(),
        user_ids=np.array([f"u{n}" for n in range(20)], dtype=object),
        item_ids=ITEMS["item_id"].to_numpy(dtype=object),
    )


@pytest.mark.parametrize("family", [f for f in FAMILIES if not f.composite], ids=lambda f: f.name)
def test_every_family_builds_from_its_start_and_recommends(family: Family):
    model = families.build(family.name, family.start(BuildOptions(ITEMS)), BuildOptions(ITEMS))
    model.fit(_matrix())
    columns, scores = model.recommend(np.arange(3), 5)
    assert columns.shape == (3, 5) and np.all(np.diff(scores, axis=1) <= 1e-6)


def test_a_composite_is_built_on_a_collaborative_base():
    base = next(f for f in FAMILIES if f.collaborative)
    params = {
        "collaborative": base.name,
        **{f"collaborative.{k}": v for k, v in base.start(BuildOptions(ITEMS)).items()},
        **families.BY_NAME["hybrid"].start(BuildOptions(ITEMS)),
    }
    model = families.build("hybrid", params, BuildOptions(ITEMS))
    model.fit(_matrix())
    assert model.recommend(np.arange(2), 3)[0].shape == (2, 3)


def test_an_unknown_family_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="known:.*als"):
        SelectionConfig(budget={"als": 1, "alz": 2})
    with pytest.raises(ValueError, match="unknown model family 'alz'"):
        families.build("alz", {}, BuildOptions(ITEMS))


def test_a_new_family_is_one_record(world, monkeypatch):  # noqa: F811
    """Registering a record is all it takes for selection to search and score it."""
    newcomer = Family("most_popular", lambda params, options: PopularityRecommender(), budget=1)
    monkeypatch.setattr(families, "FAMILIES", (*FAMILIES, newcomer))
    monkeypatch.setattr("recsys.training.selection.FAMILIES", (*FAMILIES, newcomer))
    monkeypatch.setattr(families, "BY_NAME", {**families.BY_NAME, newcomer.name: newcomer})
    pairs, items = world
    selection = select(pairs, items, SelectionConfig(budget={"als": 1, "most_popular": 1}))
    assert set(selection.families) == {"als", "most_popular"}
    assert selection.families["most_popular"].test_metrics
