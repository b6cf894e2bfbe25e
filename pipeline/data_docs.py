"""Data Docs that open offline: Great Expectations' pages load Bootstrap, jQuery, bootstrap-table and Font
Awesome from CDNs and its logo from S3. After each build the pages are rewritten to copies under the
site's ``static/vendor/`` (vendored from the npm registry into the package by
``tools/vendor_data_docs.py``), and links to pages that were not written lose their target.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

VENDOR_DIR = Path(__file__).resolve().parent / "data_docs_assets"


class Asset(NamedTuple):
    """One CDN file and where the same file lives in its npm package."""

    package: str  # npm name@version
    path: str  # inside the package tarball's ``package/`` folder

    @property
    def local(self) -> str:
        """Its path under ``data_docs_assets/`` and the site's ``static/vendor/``."""
        return f"{self.package.replace('/', '__')}/{self.path}"


# Every CDN file Great Expectations 1.24's page templates load, with the npm file it is.
CDN_ASSETS = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": Asset(
        "bootstrap@4.3.1", "dist/css/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": Asset(
        "bootstrap@4.3.1", "dist/js/bootstrap.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": Asset(
        "@forevolve/bootstrap-dark@1.1.0", "dist/css/bootstrap-prefers-dark.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": Asset(  # noqa: E501
        "bootstrap-datepicker@1.9.0", "dist/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": Asset(
        "bootstrap-datepicker@1.9.0", "dist/js/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": Asset(
        "@fortawesome/fontawesome-free@6.6.0", "css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": Asset(
        "popper.js@1.12.9", "dist/umd/popper.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": Asset("jquery@3.7.1", "dist/jquery.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": Asset(
        "bootstrap-table@1.19.1", "dist/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": Asset(
        "bootstrap-table@1.19.1", "dist/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (  # noqa: E501
        Asset(
            "bootstrap-table@1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"
        )
    ),
    # The pages ask for 1.19.0's filter-control styles (minified or not) next to 1.19.1's table.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (  # noqa: E501
        Asset(
            "bootstrap-table@1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
        )
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (  # noqa: E501
        Asset(
            "bootstrap-table@1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
        )
    ),
}
# Font Awesome's stylesheet loads its fonts from ../webfonts/ (woff2 first; every current browser reads it).
FONT_AWESOME_FONTS = tuple(
    Asset("@fortawesome/fontawesome-free@6.6.0", f"webfonts/{name}.woff2")
    for name in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")
)
# Vega draws profiling charts; no page of a validation-only site calls it, so its tags are dropped.
_VEGA_TAG = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/vega[^"]*"></script>\n?')
# GX's logo comes from S3 with a tracking query; the site's static/images holds the same file.
_S3_LOGO = re.compile(r'https://great-expectations-web-assets\.s3\.[^"/]+/([a-z-]+\.png)\?[^"]*')
# Subresource integrity and CORS mode make browsers refuse local files opened from disk.
_SRI = re.compile(r'\s+(?:integrity="[^"]*"|crossorigin="[^"]*")')
# GX points pages of validation results one folder short of the site's static/ (a favicon that is missing).
_STATIC = re.compile(r'((?:href|src)=")(?:\./|\.\./)*static/([^"]+)"')
_LOCAL_HREF = re.compile(r'href="(?![a-z]+:|#|/)([^"#?]+\.html)"')


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def make_offline(site: Path) -> None:
    """Copy the vendored files into ``site/static/vendor/`` and point every page at them."""
    vendor = site / "static" / "vendor"
    for asset in (*CDN_ASSETS.values(), *FONT_AWESOME_FONTS):
        copy = vendor / asset.local
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VENDOR_DIR / asset.local, copy)
    for page in site.rglob("*.html"):
        page.write_text(_offline_page(page, site), encoding="utf-8")


def _offline_page(page: Path, site: Path) -> str:
    html = page.read_text(encoding="utf-8")
    for url, asset in CDN_ASSETS.items():
        html = html.replace(url, _relative(site / "static" / "vendor" / asset.local, page))
    html = _VEGA_TAG.sub("", html)
    html = _S3_LOGO.sub(lambda found: _relative(site / "static" / "images" / found[1], page), html)
    html = _SRI.sub("", html)
    html = _STATIC.sub(lambda found: f'{found[1]}{_relative(site / "static" / found[2], page)}"', html)
    # An <a> without href shows its text: the suite or result is named, not linked to a missing page.
    return _LOCAL_HREF.sub(
        lambda link: link[0] if (page.parent / link[1]).is_file() else f'data-unwritten-page="{link[1]}"',
        html,
    )
