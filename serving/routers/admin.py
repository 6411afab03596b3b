"""Operations endpoints: reload the published model now (the pipeline calls it after publishing)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from starlette.concurrency import run_in_threadpool

from serving.dependencies import StateDep
from serving.schemas import Reloaded
from serving.state import ServingState


def require_admin(
    state: StateDep, authorization: Annotated[str | None, Header()] = None
) -> ServingState:
    """Callers must send `Authorization: Bearer <RECSYS_ADMIN_TOKEN>`; with no token configured
    the admin endpoints are disabled, not open."""
    token = state.settings.admin_token
    if not token:
        raise HTTPException(
            status_code=403, detail="admin endpoints are disabled: set RECSYS_ADMIN_TOKEN"
        )
    # Bytes: compare_digest refuses non-ASCII str, and a header may hold any Latin-1 text.
    sent = (authorization or "").encode("utf-8", "surrogateescape")
    if not secrets.compare_digest(sent, f"Bearer {token}".encode()):
        raise HTTPException(
            status_code=401,
            detail="admin endpoints need 'Authorization: Bearer <RECSYS_ADMIN_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return state


router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/reload", response_model=Reloaded)
async def reload(state: Annotated[ServingState, Depends(require_admin)]) -> Reloaded:
    """Load the published version now instead of at the next poll."""
    swapped = await run_in_threadpool(state.refresh, True)
    snapshot = state.snapshot
    return Reloaded(model_version=snapshot.model_version if snapshot else None, reloaded=swapped)
