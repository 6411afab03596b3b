"""The Data Docs site is built per validation and works without the internet."""

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from recsys.quality import suites

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    items = pd.DataFrame(
        {
            "item_id": ["a", "b", "b"],
            "title": ["A", "", "B"],
            "genres": [["Drama"], ["Vaporwave"], []],
        }
    )
    report = suites.check_items(items, docs_root=tmp_path)
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


@pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium package (apt-get install chromium)"
)
def test_pages_render_in_headless_chromium(site: Path):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={site.parent / 'chromium-profile'}",
    ]
    dom = subprocess.run(
        [
            CHROMIUM,
            *flags,
            "--virtual-time-budget=5000",
            "--dump-dom",
            (site / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # The index's list of validation results is built by bootstrap-table's JavaScript.
    assert 'class="bootstrap-table' in dom and "items" in dom
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    validation = next((site / "validations").rglob("*.html"))
    subprocess.run(
        [
            CHROMIUM,
            *flags,
            "--window-size=1280,1600",
            f"--screenshot={artifacts / 'data-docs-validation.png'}",
            validation.as_uri(),
        ],
        capture_output=True,
        timeout=120,
    )
    assert (artifacts / "data-docs-validation.png").stat().st_size > 10_000
