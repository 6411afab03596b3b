"""Recommendations for a user, and trending items."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from serving import filters, path_choice
from serving.dependencies import (
    CatalogueDep,
    SnapshotDep,
    published_snapshot,
    served_catalogue,
    serving_state,
)
from serving.queries import (
    LIST_FIELDS,
    Genres,
    K,
    ListQuery,
    UserId,
    Window,
    item_filter,
    parse_query,
    plain_options,
    query_parameters,
)
from serving.schemas import Recommendations, ScoredItem, Trending

router = APIRouter(tags=["recommendations"])


@router.get(
    "/recommendations/{user_id}",
    response_model=Recommendations,
    response_model_exclude_none=True,
    openapi_extra={"parameters": query_parameters(ListQuery)},
)
async def recommendations(user_id: UserId, request: Request) -> Response:
    """The user's top-k unseen items, reflecting their events up to this request.

    Users with events newer than the published model are scored now (fold-in); others get the
    published list; users with nothing personal get trending items. Filters and diversity
    choose from the list; trending tops it up when filters leave fewer than k.
    """
    # The hottest endpoint reads the state itself and takes its query as one model: each
    # FastAPI dependency or parameter costs a resolution pass per request.
    state = serving_state(request)
    snapshot = published_snapshot(state)
    catalogue = served_catalogue(state)
    options = plain_options(request.scope["query_string"])
    if options is None:
        query = parse_query(request, ListQuery, LIST_FIELDS)
        options = path_choice.ListOptions(
            k=query.k,
            item_filter=item_filter(
                catalogue, query.genres, query.exclude_genres, query.exclude_ids
            ),
            diversity=query.diversity,
            explain=query.explain,
        )
    if path_choice.served_from_memory(state, snapshot, user_id, options):  # no thread hop
        served = path_choice.recommend(state, snapshot, catalogue, user_id, options)
    else:  # reads the warehouse
        served = await run_in_threadpool(
            path_choice.recommend, state, snapshot, catalogue, user_id, options
        )
    state.metrics.served(served.source)
    # Built as JSON directly: a pydantic model per item, validated again on the way out, would
    # cost more than finding the recommendations. The fuzz test checks every response against
    # the documented `Recommendations` schema.
    items = [{"item_id": i, "score": s, "source": src} for i, s, src in served.items]
    for item, why in zip(items, served.explanations or (), strict=False):
        item["explanation"] = why
    body = {
        "user_id": user_id,
        "model_version": snapshot.model_version,
        "source": served.source,
        "algorithm": snapshot.algorithm,
        "items": items,
    }
    return Response(to_json(body), media_type="application/json")


@router.get("/trending", response_model=Trending, response_model_exclude_none=True)
def trending(
    snapshot: SnapshotDep,
    catalogue: CatalogueDep,
    k: K = 10,
    genres: Genres = None,
    window: Window = "decayed",
) -> Trending:
    """The most popular items lately, optionally of some genres."""
    wanted = item_filter(catalogue, genres, None, None)
    ranked = ((i, s, "trending") for i, s in snapshot.trending_by_window.get(window, []))
    items = filters.keep(ranked, wanted, catalogue.genres_of, withdrawn=catalogue.blocked())[:k]
    return Trending(
        model_version=snapshot.model_version,
        window=window,
        items=[ScoredItem(item_id=i, score=s, source=src) for i, s, src in items],
    )
