"""Refresh ``pipeline/data_docs_assets/`` from the npm registry (``make vendor-data-docs``): the files
:mod:`pipeline.data_docs` serves to Data Docs instead of the CDNs. Needs ``npm``; run after a Great
Expectations upgrade changes the CDN links its templates use."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from pipeline.data_docs import CDN_ASSETS, FONT_AWESOME_FONTS, VENDOR_DIR


def main() -> None:
    assets = {*CDN_ASSETS.values(), *FONT_AWESOME_FONTS}
    shutil.rmtree(VENDOR_DIR, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        for package in sorted({asset.package for asset in assets}):
            packed = subprocess.run(
                ["npm", "pack", "--silent", package], cwd=scratch, check=True, capture_output=True, text=True
            ).stdout.split()[-1]
            with tarfile.open(Path(scratch) / packed) as tarball:
                for asset in (asset for asset in assets if asset.package == package):
                    member = tarball.extractfile(f"package/{asset.path}")
                    assert member is not None, asset
                    target = VENDOR_DIR / asset.local
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(member.read())
            print(f"vendored {package}")


if __name__ == "__main__":
    main()
