"""Builds the FastAPI app: `uvicorn serving.app:app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from recsys import tracing
from recsys.settings import Settings, get_settings
from recsys.warehouse.change_feed import ERASURES
from serving.http import errors
from serving.http.guards import Utf8Only, mask_access_log
from serving.http.routers import (
    admin,
    catalogue,
    events,
    experiments,
    health,
    items,
    published_model,
    recommendations,
    users,
    web,
)
from serving.http.schemas import PROBLEMS
from serving.measurement.prometheus import ApiMetrics, MetricsMiddleware
from serving.state import ServingState
from serving.writes.user_erasure import ErasureFeed

log = logging.getLogger(__name__)


async def _watch_changes(state: ServingState, every: float) -> None:
    """One timer: the change feed's look and its subscribers (`ServingState.poll`); a failed
    poll is logged and retried next time."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(state.poll)
        except Exception:
            log.exception("checking for a newly published model failed; will retry")


def _telemetry() -> dict:
    """FastAPI's native OpenTelemetry: request spans to this process's tracer provider, if
    tracing is on (`recsys.tracing`); nothing at all otherwise."""
    tracing.configure("recsys-api")
    provider = tracing.provider()
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False}
    return {"tracing": True, "tracer_provider": provider, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None, state: ServingState | None = None) -> FastAPI:
    settings = state.settings if state else (settings or get_settings())
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving = state or ServingState(settings)
        serving.metrics = metrics
        metrics.watch(serving.model_summary, lambda: len(serving.fresh) + serving.fresh.overflowed)
        metrics.watch_online(
            serving.online.impressions,
            lambda: serving.online.latest_results,
        )
        await run_in_threadpool(serving.start)
        app.state.serving = serving
        serving.subscribe(ERASURES, ErasureFeed(serving).poll)
        watcher = asyncio.create_task(_watch_changes(serving, serving.settings.api_reload_seconds))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await run_in_threadpool(serving.online.stop)  # writes the impressions queued

    app = FastAPIOffline(
        title="recsys-pipeline API",
        description="Personalised recommendations from the published model, and event ingestion.",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own limit answers 413 before a handler reads an oversized body.
        max_body_size=settings.api_max_body_bytes,
        # Metrics are Prometheus (/metrics). Traces only when an OTLP endpoint is configured
        # (recsys.tracing); otherwise FastAPI's native OpenTelemetry stays off the hot path.
        telemetry=_telemetry(),
    )
    app.state.metrics = metrics
    errors.install(app)
    for router in (
        recommendations.router,
        items.router,
        catalogue.router,
        users.router,
        events.router,
        experiments.router,
        published_model.router,
        health.router,
        admin.router,
        web.router,
    ):
        app.include_router(router, responses=PROBLEMS)
    web.mount_files(app, settings)
    app.add_middleware(Utf8Only)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    mask_access_log()
    return app


app = create_app()
