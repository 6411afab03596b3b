"""The web page (`/`), its static files, the Data Docs site, and the links the page shows.

The page is plain HTML, CSS and JavaScript served by this app: no build step, no CDN, so it
works offline on the embedded default. It talks to the same REST endpoints as any client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from recsys.settings import Settings
from serving.http.dependencies import StateDep
from serving.http.schemas import About

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
DATA_DOCS = "/quality/docs"
EXAMPLE_USERS = 12

router = APIRouter(tags=["web"])


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/about", response_model=About)
def about(state: StateDep, request: Request) -> About:
    """Links to the Dagster UI, MLflow and the Data Docs report, and a few users to try."""
    settings: Settings = state.settings
    snapshot = state.snapshot
    examples: list[str] = []
    if snapshot is not None:
        examples = snapshot.reads.example_users(EXAMPLE_USERS)
    has_docs = (settings.data_docs_site / "index.html").is_file()
    return About(
        model_version=snapshot.model_version if snapshot else None,
        dagster_url=settings.dagster_ui,
        mlflow_url=settings.mlflow_ui,
        data_docs_url=f"{DATA_DOCS}/index.html" if has_docs else None,
        example_users=examples,
        genres=sorted(state.catalogue.genres.values()) if state.catalogue else [],
    )


def mount_files(app: FastAPI, settings: Settings) -> None:
    """The page's own files, and the Great Expectations Data Docs site the checks write."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount(DATA_DOCS, ReportFiles(directory=settings.data_docs_site), name="data_docs")


class ReportFiles(StaticFiles):
    """A folder that appears later (the Data Docs site, written by the first check run): 404
    until it exists, instead of StaticFiles' error for a missing directory."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.folder = directory

    async def __call__(self, scope, receive, send) -> None:
        if not self.folder.is_dir():
            response = JSONResponse(
                {"detail": "no data quality report yet: it appears after the first pipeline run"},
                status_code=404,
            )
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
