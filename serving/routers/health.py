"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serving.dependencies import StateDep
from serving.schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Health)
def live() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/ready", response_model=Health, responses={503: {"model": Health}})
def ready(state: StateDep):
    """Ready when a published model is loaded and the warehouse answers."""
    snapshot = state.snapshot
    if snapshot is None:
        detail = "no published model loaded yet"
    elif not state.warehouse_reachable():
        detail = "the warehouse is not reachable"
    else:
        return Health(status="ok", model_version=snapshot.model_version)
    return JSONResponse(
        status_code=503, content=Health(status="unavailable", detail=detail).model_dump()
    )
