"""FastAPI dependencies shared by the routers.

They are `async` because they only read memory: FastAPI runs sync dependencies in a worker
thread, and two thread hops per request would cost a third of the API's throughput.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from serving.catalogue import Catalogue
from serving.snapshot import Snapshot
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
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]
