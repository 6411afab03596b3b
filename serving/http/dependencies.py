"""FastAPI dependencies shared by the routers.

They are `async` because they only read memory: FastAPI runs sync dependencies in a worker
thread, and two thread hops per request would cost a third of the API's throughput.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from serving.held.catalogue_view import Catalogue
from serving.held.snapshot import Snapshot
from serving.state import ServingState


def serving_state(request: Request) -> ServingState:
    return request.app.state.serving


def published_snapshot(state: ServingState) -> Snapshot:
    snapshot = state.snapshot  # read the reference once: the whole request sees one version
    if snapshot is None:
        raise HTTPException(
            status_code=503,
            detail="no model has been published yet: run the full_pipeline job first",
        )
    return snapshot


def served_catalogue(state: ServingState) -> Catalogue:
    catalogue = state.catalogue
    if catalogue is None:
        raise HTTPException(
            status_code=503,
            detail="the catalogue loads with the first published model: "
            "run the full_pipeline job first",
        )
    return catalogue


async def get_state(request: Request) -> ServingState:
    return serving_state(request)


async def get_snapshot(state: Annotated[ServingState, Depends(get_state)]) -> Snapshot:
    return published_snapshot(state)


async def get_catalogue(state: Annotated[ServingState, Depends(get_state)]) -> Catalogue:
    return served_catalogue(state)


StateDep = Annotated[ServingState, Depends(get_state)]


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


AdminDep = Annotated[ServingState, Depends(require_admin)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
