"""Recommendations for a user, and trending items."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from serving import filters, personal
from serving.dependencies import SnapshotDep, StateDep
from serving.filters import ItemFilter
from serving.schemas import Recommendations, ScoredItem, Trending
from serving.snapshot import Snapshot

router = APIRouter(tags=["recommendations"])

K = Annotated[int, Query(ge=1, le=personal.MAX_K, description="How many items to return")]
UserId = Annotated[str, Path(min_length=1, max_length=256)]
Genres = Annotated[
    list[Annotated[str, Query(min_length=1, max_length=64)]] | None,
    Query(
        max_length=30, description="Keep items with any of these genres (repeat or comma-separate)"
    ),
]
ExcludeGenres = Annotated[
    list[Annotated[str, Query(min_length=1, max_length=64)]] | None,
    Query(max_length=30, description="Leave out items with any of these genres"),
]
ExcludeIds = Annotated[
    list[Annotated[str, Query(min_length=1, max_length=256)]] | None,
    Query(max_length=500, description="Leave out these item ids"),
]
Diversity = Annotated[
    float,
    Query(
        ge=0.0, le=1.0, description="MMR relevance weight: 1 = pure relevance, lower = more varied"
    ),
]
Window = Annotated[
    Literal["decayed", "1d", "7d", "30d"],
    Query(description="decayed: time-decayed popularity; 1d/7d/30d: events in that window"),
]


def item_filter(
    snapshot: Snapshot,
    genres: list[str] | None,
    exclude_genres: list[str] | None,
    exclude_ids: list[str] | None,
) -> ItemFilter:
    """Parse the filter parameters; a genre the catalogue does not know is a 422 naming it."""

    def genre_set(values: list[str] | None, name: str) -> frozenset[str]:
        wanted = {g.strip().lower() for v in values or () for g in v.split(",") if g.strip()}
        unknown = sorted(wanted - snapshot.genres.keys())
        if unknown:
            known = sorted(snapshot.genres.values())
            raise HTTPException(
                status_code=422,
                detail=[
                    {
                        "loc": ["query", name],
                        "msg": f"unknown genre(s) {unknown}; known: {known}",
                        "type": "value_error",
                    }
                ],
            )
        return frozenset(wanted)

    return ItemFilter(
        genres=genre_set(genres, "genres"),
        exclude_genres=genre_set(exclude_genres, "exclude_genres"),
        exclude_ids=frozenset(exclude_ids or ()),
    )


@router.get(
    "/recommendations/{user_id}",
    response_model=Recommendations,
    response_model_exclude_none=True,
)
async def recommendations(
    user_id: UserId,
    snapshot: SnapshotDep,
    state: StateDep,
    k: K = 10,
    genres: Genres = None,
    exclude_genres: ExcludeGenres = None,
    exclude_ids: ExcludeIds = None,
    diversity: Diversity = 1.0,
    explain: Annotated[bool, Query(description="Say why each item is recommended")] = False,
) -> Recommendations:
    """The user's top-k unseen items, reflecting their events up to this request.

    Users with events newer than the published model are scored now (fold-in); others get the
    published list; users with nothing personal get trending items. Filters and diversity
    choose from the list; trending tops it up when filters leave fewer than k.
    """
    options = personal.ListOptions(
        k=k,
        item_filter=item_filter(snapshot, genres, exclude_genres, exclude_ids),
        diversity=diversity,
        explain=explain,
    )
    if personal.served_from_memory(state, user_id, options):  # no thread hop
        served = personal.recommend(state, snapshot, user_id, options)
    else:  # reads the warehouse
        served = await run_in_threadpool(personal.recommend, state, snapshot, user_id, options)
    explanations = served.explanations or [None] * len(served.items)
    state.metrics.served(served.source)
    return Recommendations(
        user_id=user_id,
        model_version=snapshot.model_version,
        source=served.source,
        algorithm=snapshot.algorithm,
        items=[
            ScoredItem(item_id=i, score=s, source=src, explanation=why)
            for (i, s, src), why in zip(served.items, explanations, strict=True)
        ],
    )


@router.get("/trending", response_model=Trending, response_model_exclude_none=True)
async def trending(
    snapshot: SnapshotDep,
    k: K = 10,
    genres: Genres = None,
    window: Window = "decayed",
) -> Trending:
    """The most popular items lately, optionally of some genres."""
    wanted = item_filter(snapshot, genres, None, None)
    ranked = ((i, s, "trending") for i, s in snapshot.trending_by_window.get(window, []))
    items = filters.keep(ranked, wanted, snapshot.genres_of)[:k]
    return Trending(
        model_version=snapshot.model_version,
        window=window,
        items=[ScoredItem(item_id=i, score=s, source=src) for i, s, src in items],
    )
