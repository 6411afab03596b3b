"""The Data Docs site is built per validation and works without the internet."""

import re
from pathlib import Path

import pandas as pd
import pytest

from recsys.quality.item_suite import check_items

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "b"],
            "title": ["A", "", "B"],
            "genres": [["Drama"], ["Vaporwave"], []],
        }
    )
    report = check_items(items, docs_root=tmp_path)
    assert not report.success
    assert report.docs_index is not None and report.docs_index.is_file()
    return report.docs_index.parent


def test_every_page_loads_only_local_scripts_and_stylesheets(site: Path):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 3  # index, the suite, the validation result
    for page in pages:
        html = page.read_text()
        assert not re.search(r'<script[^>]*src="https?://', html), page
        assert not re.search(r'<link[^>]*href="https?://[^"]*\\.css', html), page
        for local in re.findall(r'(?:src|href)="((?:\\.\\./)*static/vendor/[^"]+)"', html):
            assert (page.parent / local).resolve().is_file(), (page, local)
    assert "static/vendor/bootstrap/bootstrap.min.css" in (site / "index.html").read_text()


def test_pages_render_in_headless_chromium(site: Path, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    remote: list[str] = []
    page.on("request", lambda r: r.url.startswith("http") and remote.append(r.url))
    page.goto((site / "index.html").as_uri())
    # The index's table of validation results is built by its scripts (bootstrap-table, and
    # the date picker its filters call): rows appear only if every script loaded and ran.
    rows = page.locator(".bootstrap-table table tbody tr")
    rows.first.wait_for(timeout=15_000)
    assert "items" in rows.first.inner_text()
    assert errors == [] and remote == []
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "data-docs-index.png"))
    validation = next((site / "validations").rglob("*.html"))
    page.goto(validation.as_uri())
    page.screenshot(path=str(artifacts / "data-docs-validation.png"), full_page=True)
    assert errors == [] and remote == []
    assert (artifacts / "data-docs-validation.png").stat().st_size > 10_000
