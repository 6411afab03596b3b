"""Item lookups."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from serving.dependencies import SnapshotDep
from serving.schemas import ScoredItem, SimilarItems

router = APIRouter(prefix="/items", tags=["items"])


@router.get("/{item_id}/similar", response_model=SimilarItems)
def similar(
    item_id: Annotated[str, Path(min_length=1, max_length=256)],
    snapshot: SnapshotDep,
    k: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SimilarItems:
    """Items most similar to this one: from the published model, or content for rare items."""
    if item_id not in snapshot.item_ids:
        raise HTTPException(status_code=404, detail=f"unknown item_id {item_id!r}")
    source, neighbours = snapshot.similar.get(item_id, (snapshot.algorithm, []))
    return SimilarItems(
        item_id=item_id,
        model_version=snapshot.model_version,
        items=[ScoredItem(item_id=i, score=s, source=source) for i, s in neighbours[:k]],
    )
