"""Recommendations for a user, and trending items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving import personal
from serving.dependencies import SnapshotDep, StateDep
from serving.schemas import Recommendations, ScoredItem, Trending

router = APIRouter(tags=["recommendations"])

K = Annotated[int, Query(ge=1, le=personal.MAX_K, description="How many items to return")]
UserId = Annotated[str, Path(min_length=1, max_length=256)]


@router.get("/recommendations/{user_id}", response_model=Recommendations)
def recommendations(
    user_id: UserId, snapshot: SnapshotDep, state: StateDep, k: K = 10
) -> Recommendations:
    """The user's top-k unseen items, reflecting their events up to this request.

    Users with events newer than the published model are scored now (fold-in); others get the
    published list; users with nothing personal get trending items.
    """
    served = personal.recommend(state, snapshot, user_id, k)
    return Recommendations(
        user_id=user_id,
        model_version=snapshot.model_version,
        source=served.source,
        algorithm=snapshot.algorithm,
        items=[ScoredItem(item_id=i, score=s, source=src) for i, s, src in served.items],
    )


@router.get("/trending", response_model=Trending)
def trending(snapshot: SnapshotDep, k: K = 10) -> Trending:
    """The most popular items lately (time-decayed popularity)."""
    return Trending(
        model_version=snapshot.model_version,
        items=[ScoredItem(item_id=i, score=s, source="trending") for i, s in snapshot.trending[:k]],
    )
