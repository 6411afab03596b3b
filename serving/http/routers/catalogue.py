"""The catalogue: search by title, filter by genre, page through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from serving.http.dependencies import CatalogueDep
from serving.http.queries import item_filter as parse_filter
from serving.http.schemas import CatalogPage, Item

router = APIRouter(tags=["catalog"])


@router.get("/catalog", response_model=CatalogPage)
async def catalog(
    catalogue: CatalogueDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive title substring")
    ] = None,
    genre: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CatalogPage:
    """Items whose title contains `q` and (optionally) of `genre`, sorted by title."""
    needle = (q or "").strip().lower()
    wanted = parse_filter(catalogue, [genre] if genre else None, None, None)
    as_written = catalogue.genres.get(next(iter(wanted.genres), ""), "")
    total, page = await run_in_threadpool(catalogue.search, needle, as_written, offset, limit)
    return CatalogPage(
        total=total, offset=offset, limit=limit, items=[Item.of(info) for info in page]
    )
