"""Operations endpoints: reload the published model now (the pipeline calls it after publishing)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from serving.http.dependencies import AdminDep
from serving.http.schemas import Reloaded

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", response_model=Reloaded)
async def reload(state: AdminDep) -> Reloaded:
    """Load the published version now instead of at the next poll."""
    swapped = await run_in_threadpool(state.refresh)
    snapshot = state.snapshot
    return Reloaded(model_version=snapshot.model_version if snapshot else None, reloaded=swapped)
