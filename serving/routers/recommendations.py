"""Recommendations for a user, and trending items."""

from __future__ import annotations

from typing import Annotated, Literal, get_origin

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from serving import filters, personal
from serving.dependencies import SnapshotDep, published_snapshot, serving_state
from serving.filters import ItemFilter
from serving.schemas import Recommendations, ScoredItem, Trending
from serving.snapshot import Snapshot

router = APIRouter(tags=["recommendations"])
NO_FILTER = ItemFilter()

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
    if not (genres or exclude_genres or exclude_ids):
        return NO_FILTER

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


class ListQuery(BaseModel):
    """The query parameters of a recommendation list, parsed and validated in one pass."""

    k: int = Field(default=10, ge=1, le=personal.MAX_K, description="How many items to return")
    genres: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default=[],
        max_length=30,
        description="Keep items with any of these genres (repeat or comma-separate)",
    )
    exclude_genres: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default=[], max_length=30, description="Leave out items with any of these genres"
    )
    exclude_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default=[], max_length=500, description="Leave out these item ids"
    )
    diversity: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="MMR relevance weight: 1 = pure relevance, lower = more varied",
    )
    explain: bool = Field(default=False, description="Say why each item is recommended")


def query_parameters(model: type[BaseModel]) -> list[dict]:
    """OpenAPI query parameters documenting `model`'s fields (for endpoints that parse them)."""
    schema = model.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": field.get("description", ""),
            "schema": {k: v for k, v in field.items() if k not in ("description", "title")},
        }
        for name, field in schema["properties"].items()
    ]


LIST_FIELDS = {
    name for name, field in ListQuery.model_fields.items() if get_origin(field.annotation) is list
}


PLAIN_OPTIONS = {
    f"k={k}".encode(): personal.ListOptions(k=k) for k in range(1, personal.MAX_K + 1)
} | {b"": personal.ListOptions()}


def plain_options(query_string: bytes) -> personal.ListOptions | None:
    """The options of the most common requests (`?k=N` or nothing), found without parsing."""
    return PLAIN_OPTIONS.get(query_string)


def parse_query(request: Request, model: type[BaseModel], lists: set[str]) -> BaseModel:
    """Validate the query string against `model` in one pydantic call; 422 names the field.

    FastAPI's own parameter resolution costs more than the rest of a recommendation request
    (per-parameter introspection on every call); pydantic-core alone is a few microseconds.
    """
    params = request.query_params
    raw = {
        name: params.getlist(name) if name in lists else params[name]
        for name in model.model_fields
        if name in params
    }
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [
                {**e, "loc": ("query", *e["loc"])}
                for e in error.errors(include_url=False, include_context=False)
            ]
        ) from None


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
    options = plain_options(request.scope["query_string"])
    if options is None:
        query = parse_query(request, ListQuery, LIST_FIELDS)
        options = personal.ListOptions(
            k=query.k,
            item_filter=item_filter(
                snapshot, query.genres, query.exclude_genres, query.exclude_ids
            ),
            diversity=query.diversity,
            explain=query.explain,
        )
    if personal.served_from_memory(state, snapshot, user_id, options):  # no thread hop
        served = personal.recommend(state, snapshot, user_id, options)
    else:  # reads the warehouse
        served = await run_in_threadpool(personal.recommend, state, snapshot, user_id, options)
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
