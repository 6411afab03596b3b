"""Recommendations for a user, and trending items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving.dependencies import SnapshotDep, StateDep
from serving.schemas import Recommendations, ScoredItem, Trending

router = APIRouter(tags=["recommendations"])

K = Annotated[int, Query(ge=1, le=100, description="How many items to return")]
UserId = Annotated[str, Path(min_length=1, max_length=256)]


@router.get("/recommendations/{user_id}", response_model=Recommendations)
def recommendations(
    user_id: UserId, snapshot: SnapshotDep, state: StateDep, k: K = 10
) -> Recommendations:
    """The user's top-k items; users the model has not seen get trending items.

    Items the user touched through this API since the model's data cut-off are left out.
    """
    just_seen = state.recent.items_of(user_id)
    personal = snapshot.recommendations.get(user_id)
    source, ranked = (snapshot.algorithm, personal) if personal else ("trending", snapshot.trending)
    items = [
        ScoredItem(item_id=i, score=s, source=source) for i, s in ranked if i not in just_seen
    ][:k]
    return Recommendations(user_id=user_id, model_version=snapshot.model_version, items=items)


@router.get("/trending", response_model=Trending)
def trending(snapshot: SnapshotDep, k: K = 10) -> Trending:
    """The most popular items lately (time-decayed popularity)."""
    return Trending(
        model_version=snapshot.model_version,
        items=[ScoredItem(item_id=i, score=s, source="trending") for i, s in snapshot.trending[:k]],
    )
