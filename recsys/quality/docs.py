"""Make a GX Data Docs site work offline: local copies of its CDN assets, nothing fetched.

The pages GX renders link bootstrap, jQuery, bootstrap-table and font-awesome from CDNs; without
them the index's JavaScript-built lists stay empty and every page is unstyled. `localise`
copies the vendored files into the site and rewrites each page to use them, and drops the
remaining remote scripts and stylesheets (charts, a dark theme) that the
project's suites do not need, so opening a page never waits on the network.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

VENDOR = Path(__file__).parent / "static" / "vendor"
LOCAL_COPIES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    # The index page's inline script calls .datepicker(): without it the table never renders.
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": "bootstrap-datepicker/bootstrap-datepicker.min.css",
}
_REMOTE_LOGO = re.compile(r'https://great-expectations-web-assets\.s3[^"]*logo-long\.png[^"]*')
_REMOTE_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', re.I)
_REMOTE_STYLESHEET = re.compile(r'<link[^>]*\bhref="https?://[^"]*\.css[^"]*"[^>]*/?>', re.I)
# Subresource-integrity attributes written for the CDN copies: on a file:// page they make
# Chromium treat the local copies as cross-origin and block them (no bootstrap, no modals).
_CDN_ATTRIBUTES = re.compile(r'\s(?:integrity|crossorigin)="[^"]*"', re.I)


def localise(site: Path) -> int:
    """Rewrite every page of the site at `site` to use local assets; return pages rewritten."""
    shutil.copytree(VENDOR, site / "static" / "vendor", dirs_exist_ok=True)
    rewritten = 0
    for page in site.rglob("*.html"):
        root = "../" * (len(page.relative_to(site).parts) - 1)
        html = original = page.read_text(encoding="utf-8")
        for remote, local in LOCAL_COPIES.items():
            html = html.replace(remote, f"{root}static/vendor/{local}")
        html = _REMOTE_LOGO.sub(f"{root}static/images/logo-long.png", html)
        html = _REMOTE_SCRIPT.sub("", html)
        html = _REMOTE_STYLESHEET.sub("", html)
        html = _CDN_ATTRIBUTES.sub("", html)
        if html != original:
            page.write_text(html, encoding="utf-8")
            rewritten += 1
    return rewritten
