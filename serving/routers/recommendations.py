"""Recommendations for a user, and trending items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving.dependencies import SnapshotDep
from serving.schemas import Recommendations, ScoredItem, Trending

router = APIRouter(tags=["recommendations"])

K = Annotated[int, Query(ge=1, le=100, description="How many items to return")]
UserId = Annotated[str, Path(min_length=1, max_length=256)]


@router.get("/recommendations/{user_id}", response_model=Recommendations)
def recommendations(user_id: UserId, snapshot: SnapshotDep, k: K = 10) -> Recommendations:
    """The user's top-k items; users the model has not seen get trending items."""
    personal = snapshot.recommendations.get(user_id)
    if personal:
        items = [ScoredItem(item_id=i, score=s, source="als") for i, s in personal[:k]]
    else:
        items = [
            ScoredItem(item_id=i, score=s, source="trending") for i, s in snapshot.trending[:k]
        ]
    return Recommendations(user_id=user_id, model_version=snapshot.model_version, items=items)


@router.get("/trending", response_model=Trending)
def trending(snapshot: SnapshotDep, k: K = 10) -> Trending:
    """The most popular items lately (time-decayed popularity)."""
    return Trending(
        model_version=snapshot.model_version,
        items=[ScoredItem(item_id=i, score=s, source="trending") for i, s in snapshot.trending[:k]],
    )
