"""Builds the FastAPI app: `uvicorn serving.app:app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from recsys.settings import Settings, get_settings
from serving.metrics import ApiMetrics, BodyLimitMiddleware, MetricsMiddleware
from serving.routers import admin, catalog, events, health, items, model, recommendations, users
from serving.state import ServingState

log = logging.getLogger(__name__)


async def _watch_publications(state: ServingState, every: float) -> None:
    """Poll for a newly published version; a failed poll is logged and retried next time."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(state.poll)
        except Exception:
            log.exception("checking for a newly published model failed; will retry")


def create_app(settings: Settings | None = None, state: ServingState | None = None) -> FastAPI:
    settings = state.settings if state else (settings or get_settings())
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        serving = state or ServingState(settings)
        serving.metrics = metrics
        metrics.watch(serving.model_summary, lambda: len(serving.fresh))
        await run_in_threadpool(serving.start)
        app.state.serving = serving
        watcher = asyncio.create_task(
            _watch_publications(serving, serving.settings.api_reload_seconds)
        )
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(
        title="recsys-pipeline API",
        description="Personalised recommendations from the published model, and event ingestion.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    for router in (
        recommendations.router,
        items.router,
        catalog.router,
        users.router,
        events.router,
        model.router,
        health.router,
        admin.router,
    ):
        app.include_router(router)
    # Outermost last: the body limit answers 413 before anything reads a body.
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    return app


app = create_app()
