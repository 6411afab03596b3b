"""Recommendations for a user, and trending items."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from serving.http.dependencies import (
    CatalogueDep,
    SnapshotDep,
    StateDep,
    published_snapshot,
    served_catalogue,
    serving_state,
)
from serving.http.queries import (
    LIST_FIELDS,
    Genres,
    K,
    ListQuery,
    UserId,
    ViewerId,
    Window,
    item_filter,
    parse_query,
    plain_options,
    query_parameters,
)
from serving.http.schemas import Recommendations, Trending, scored_items
from serving.lists import filters, path_choice, policy_steps
from serving.measurement.serving_policy import Policy

router = APIRouter(tags=["recommendations"])
SURFACE = "recommendations"


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
    online = state.online
    served_roles = state.served  # one reference: a promotion swaps the whole dict
    assignment = online.experiments.assign(SURFACE, user_id, served_roles.keys())
    if assignment is None:
        snapshot = published_snapshot(state)
        policy = online.default_policy
    else:
        snapshot = served_roles[assignment.variant.role]
        policy = Policy.of(assignment.variant, state.settings)
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
    if policy.plain and path_choice.served_from_memory(state, snapshot, user_id, options):
        served = path_choice.recommend(state, snapshot, catalogue, user_id, options)  # no hop
    elif policy.plain:  # reads the warehouse
        served = await run_in_threadpool(
            path_choice.recommend, state, snapshot, catalogue, user_id, options
        )
    else:
        served = await run_in_threadpool(
            policy_steps.serve, state, snapshot, catalogue, user_id, options, policy
        )
    state.metrics.served(served.source)
    # Built as JSON directly: a pydantic model per item, validated again on the way out, would
    # cost more than finding the recommendations. The fuzz test checks every response against
    # the documented `Recommendations` schema.
    items, ids = [], []
    for n, (i, s, src) in enumerate(served.items, start=1):
        items.append({"item_id": i, "score": s, "source": src, "position": n})
        ids.append(i)
    request_id = online.shown(SURFACE, user_id, ids, snapshot.model_version, assignment)
    if policy.demote_after:
        online.exposure.note(user_id, state.fresh.stamp(user_id), ids)
    for item, why in zip(items, served.explanations or (), strict=False):
        item["explanation"] = why
    body = {
        "request_id": request_id,
        "user_id": user_id,
        "model_version": snapshot.model_version,
        "source": served.source,
        "algorithm": snapshot.algorithm,
        "items": items,
    }
    if assignment is not None:
        body["experiment"] = assignment.experiment
        body["variant"] = assignment.variant.name
    return Response(to_json(body), media_type="application/json")


@router.get("/trending", response_model=Trending, response_model_exclude_none=True)
def trending(
    state: StateDep,
    snapshot: SnapshotDep,
    catalogue: CatalogueDep,
    k: K = 10,
    genres: Genres = None,
    window: Window = "decayed",
    user_id: ViewerId = None,
) -> Trending:
    """The most popular items lately, optionally of some genres."""
    wanted = item_filter(catalogue, genres, None, None)
    ranked = ((i, s, "trending") for i, s in snapshot.trending_by_window.get(window, []))
    items = filters.keep(ranked, wanted, catalogue.genres_of, withdrawn=catalogue.blocked())[:k]
    ids = [i for i, _, _ in items]
    return Trending(
        request_id=state.online.shown("trending", user_id or "", ids, snapshot.model_version),
        model_version=snapshot.model_version,
        window=window,
        items=scored_items(items),
    )
