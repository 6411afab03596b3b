"""Query parameters: their types, their limits (declared once), and parsing. Routers import
these; no router imports another.

List endpoints parse their query string in one pydantic call (`parse_query`): FastAPI's own
parameter resolution costs more than the rest of a recommendation request.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_origin

from fastapi import HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, BeforeValidator, Field, StringConstraints, ValidationError

from recsys.events.validity import MAX_ID_LENGTH
from serving.held.catalogue_view import Catalogue
from serving.lists import path_choice
from serving.lists.filters import ItemFilter

MAX_GENRES = 30  # genres named in one filter
MAX_GENRE_LENGTH = 64
MAX_EXCLUDED_IDS = 500
GenreName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_GENRE_LENGTH)]
ItemIdText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]

NO_FILTER = ItemFilter()


def split_commas(values: object) -> object:
    """Repeated and comma-separated values as one list, split before any limit is checked
    (`ids=a,b,c` is three ids); blanks are dropped. Anything else is left for validation."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        return values
    return [piece.strip() for value in values for piece in value.split(",") if piece.strip()]


Split = BeforeValidator(split_commas)


def at_most(count: int, what: str):
    """A list's limit, checked after splitting, with a message that says it plainly."""

    def check(values: list) -> list:
        if len(values) > count:
            raise ValueError(f"at most {count} {what}, got {len(values)}")
        return values

    return check


def joined(count: int, longest: int) -> int:
    """The longest one raw value may be: `count` values of `longest` characters, joined."""
    return count * (longest + 1)


K = Annotated[int, Query(ge=1, le=path_choice.MAX_K, description="How many items to return")]
UserId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)]
ViewerId = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_ID_LENGTH,
        description="Who the list is shown to: recorded with the impression, so engagements "
        "with it are credited without a request_id",
    ),
]
Genres = Annotated[
    list[GenreName] | None,
    Split,
    Query(
        max_length=MAX_GENRES,
        description="Keep items with any of these genres (repeat or comma-separate)",
    ),
]
ExcludeGenres = Annotated[
    list[GenreName] | None,
    Split,
    Query(
        max_length=MAX_GENRES,
        description="Leave out items with any of these genres (repeat or comma-separate)",
    ),
]
ExcludeIds = Annotated[
    list[ItemIdText] | None,
    Split,
    Query(
        max_length=MAX_EXCLUDED_IDS,
        description="Leave out these item ids (repeat or comma-separate)",
    ),
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
    catalogue: Catalogue,
    genres: list[str] | None,
    exclude_genres: list[str] | None,
    exclude_ids: list[str] | None,
) -> ItemFilter:
    """Parse the filter parameters; a genre the catalogue does not know is a 422 naming it."""
    if not (genres or exclude_genres or exclude_ids):
        return NO_FILTER

    def genre_set(values: list[str] | None, name: str) -> frozenset[str]:
        wanted = {g.strip().lower() for v in values or () for g in v.split(",") if g.strip()}
        unknown = sorted(wanted - catalogue.genres.keys())
        if unknown:
            known = sorted(catalogue.genres.values())
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

    k: int = Field(default=10, ge=1, le=path_choice.MAX_K, description="How many items to return")
    genres: Annotated[list[GenreName], Split] = Field(
        default=[],
        max_length=MAX_GENRES,
        description="Keep items with any of these genres (repeat or comma-separate)",
    )
    exclude_genres: Annotated[list[GenreName], Split] = Field(
        default=[],
        max_length=MAX_GENRES,
        description="Leave out items with any of these genres (repeat or comma-separate)",
    )
    exclude_ids: Annotated[list[ItemIdText], Split] = Field(
        default=[],
        max_length=MAX_EXCLUDED_IDS,
        description="Leave out these item ids (repeat or comma-separate)",
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
    f"k={k}".encode(): path_choice.ListOptions(k=k) for k in range(1, path_choice.MAX_K + 1)
} | {b"": path_choice.ListOptions()}


def plain_options(query_string: bytes) -> path_choice.ListOptions | None:
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
