"""Data Docs open offline: every style and script is a file under the data root, every local link a page
that was written."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import demo_world_settings

_ATTRIBUTE = re.compile(r'(?:href|src)="([^"]*)"')
_SCRIPT_OR_STYLE = re.compile(r'<script[^>]*\ssrc="([^"]*)"|<link[^>]*\shref="([^"]*)"')
_CSS_URL = re.compile(r"url\(([^)]+)\)")


def test_pages_load_no_remote_styles_or_scripts_and_link_only_written_pages(
    published_demo_world: Path,
) -> None:
    site = demo_world_settings(published_demo_world).data.data_docs
    pages = sorted(site.rglob("*.html"))
    suites = [page for page in pages if page.relative_to(site).parts[0] == "expectations"]
    assert (site / "index.html") in pages and len(suites) >= 9  # the index links every suite's page
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assets = [script or link for script, link in _SCRIPT_OR_STYLE.findall(html)]
        assert assets, page
        for asset in assets:
            assert not asset.startswith(("http:", "https:", "//")), (page, asset)
            assert (page.parent / asset).is_file(), (page, asset)
        for target in _ATTRIBUTE.findall(html):
            if re.match(r"[a-z]+:|#|/", target) or not target:
                continue
            assert (page.parent / target.split("#")[0]).is_file(), (page, target)
        assert "vegaEmbed(" not in html  # the dropped Vega scripts are not needed by any page


def test_vendored_stylesheets_find_their_fonts(published_demo_world: Path) -> None:
    site = demo_world_settings(published_demo_world).data.data_docs
    stylesheets = list((site / "static" / "vendor").rglob("*.css"))
    assert stylesheets
    for stylesheet in stylesheets:
        for url in _CSS_URL.findall(stylesheet.read_text(encoding="utf-8")):
            url = url.strip("'\"")
            if url.startswith("data:") or url.endswith(".ttf"):
                continue  # Font Awesome's .ttf fallbacks: browsers take the .woff2 listed first
            assert (stylesheet.parent / url.split("?")[0].split("#")[0]).is_file(), (stylesheet, url)
