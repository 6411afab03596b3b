"""Item lookups: one item, and the items most similar to it.

Plain `def` endpoints (run in worker threads): with warehouse reads a lookup may query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import AfterValidator

from recsys.catalogue.payloads import ItemFields
from recsys.events.validity import id_problem
from serving.held.catalogue_view import Catalogue, ItemInfo
from serving.http.dependencies import AdminDep, CatalogueDep, SnapshotDep, StateDep
from serving.http.errors import unprocessable
from serving.http.queries import (
    Diversity,
    ExcludeGenres,
    ExcludeIds,
    Genres,
    ItemIdText,
    K,
    Split,
    ViewerId,
    at_most,
)
from serving.http.queries import item_filter as parse_filter
from serving.http.schemas import Item, ItemBatch, ItemDeleted, SimilarItems, scored_items
from serving.lists import filters
from serving.lists.neighbours import neighbour_list
from serving.lists.scoring import content_similarity
from serving.writes import catalogue_writes

router = APIRouter(prefix="/items", tags=["items"])

ItemId = Annotated[str, Path(min_length=1, max_length=256)]
MAX_IDS = 200


def known(catalogue: Catalogue, item_id: str) -> ItemInfo:
    """The item if it may be shown; else a 404 saying whether it is unknown or withdrawn."""
    info = catalogue.get(item_id)
    if info is None:
        problem = catalogue.problem(item_id) if catalogue.record(item_id) else None
        detail = f"item_id {item_id!r} is {problem}" if problem else f"unknown item_id {item_id!r}"
        raise HTTPException(status_code=404, detail=detail)
    return info


@router.put("/{item_id}", response_model=Item)
def put_item(item_id: ItemId, fields: ItemFields, state: AdminDep) -> Item:
    """Add or replace an item (admin token). Served at once here, within seconds by other
    processes; an item the served model lacks is recommended by its content until the next
    retrain learns it. Putting a deleted item re-adds it."""
    _valid_id(item_id)
    return Item.of(catalogue_writes.put_item(state, item_id, fields))


@router.delete("/{item_id}", response_model=ItemDeleted)
def delete_item(item_id: ItemId, state: AdminDep) -> ItemDeleted:
    """Delete an item (admin token): a tombstone. It stays in the event history (and in
    training), is never served again, and new events about it are refused, until it is put
    again. 404 if the catalogue never had it or it is deleted already."""
    if not catalogue_writes.delete_item(state, item_id):
        raise HTTPException(status_code=404, detail=f"no item_id {item_id!r} to delete")
    return ItemDeleted(item_id=item_id, deleted=True)


def _valid_id(item_id: str) -> None:
    problem = id_problem(item_id)
    if problem:
        raise unprocessable(("path", "item_id"), f"item_id {problem}", item_id)


@router.get("", response_model=ItemBatch)
def items(
    catalogue: CatalogueDep,
    ids: Annotated[
        list[ItemIdText],
        Split,
        AfterValidator(at_most(MAX_IDS, "ids per request")),
        Query(min_length=1, description=f"Item ids (repeat or comma-separate; at most {MAX_IDS})"),
    ],
) -> ItemBatch:
    """Several catalogue items at once (say, to show a list of recommendations)."""
    found = {i: catalogue.get(i) for i in dict.fromkeys(ids)}
    return ItemBatch(
        items=[Item.of(info) for info in found.values() if info is not None],
        missing=[i for i, info in found.items() if info is None],
    )


@router.get("/{item_id}", response_model=Item)
def item(item_id: ItemId, catalogue: CatalogueDep) -> Item:
    """One catalogue item; 404 if the catalogue does not have it."""
    return Item.of(known(catalogue, item_id))


@router.get("/{item_id}/similar", response_model=SimilarItems, response_model_exclude_none=True)
def similar(
    item_id: ItemId,
    state: StateDep,
    snapshot: SnapshotDep,
    catalogue: CatalogueDep,
    k: K = 10,
    genres: Genres = None,
    exclude_genres: ExcludeGenres = None,
    exclude_ids: ExcludeIds = None,
    diversity: Diversity = 1.0,
    user_id: ViewerId = None,
) -> SimilarItems:
    """Items most similar to this one: from the published model, or content for rare items.

    Filters and diversity as for recommendations; trending tops the list up when filters leave
    fewer than k.
    """
    known(catalogue, item_id)
    wanted = parse_filter(catalogue, genres, exclude_genres, exclude_ids)
    source, neighbours = neighbour_list(snapshot, item_id)
    itself = frozenset((item_id,))
    withdrawn = catalogue.blocked()
    candidates = filters.keep(
        ((i, s, source) for i, s in neighbours), wanted, catalogue.genres_of, itself, withdrawn
    )
    chosen = filters.mmr(candidates, k, diversity, content_similarity(snapshot, catalogue))
    trending = ((i, s, "trending") for i, s in snapshot.trending)
    items = filters.top_up(chosen, k, trending, wanted, catalogue.genres_of, itself, withdrawn)
    ids = [i for i, _, _ in items]
    return SimilarItems(
        request_id=state.online.shown("similar", user_id or "", ids, snapshot.model_version),
        item_id=item_id,
        model_version=snapshot.model_version,
        items=scored_items(items),
    )
