"""Liveness and readiness probes, and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.http.dependencies import StateDep
from serving.http.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health/live", response_model=Health)
def live() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/health/ready", response_model=Health, responses={503: {"model": Health}})
def ready(state: StateDep):
    """Ready when a published model is loaded, the warehouse answers and event writes work."""
    snapshot = state.snapshot
    if snapshot is None:
        detail = "no published model loaded yet"
    elif not state.writes_work():
        detail = f"event writes are failing: {state.write_failure}"
    elif not state.warehouse_reachable():
        detail = "the warehouse is not reachable"
    else:
        return Health(status="ok", model_version=snapshot.model_version)
    return JSONResponse(
        status_code=503, content=Health(status="unavailable", detail=detail).model_dump()
    )


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route, lists served by source, events
    accepted/rejected, the served model's version and age."""
    body = request.app.state.metrics.exposition()
    return Response(content=body, media_type=CONTENT_TYPE_LATEST)
