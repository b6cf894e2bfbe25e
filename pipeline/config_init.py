"""``socialrank init``: a commented ``socialrank.toml`` naming the user's own sites and time zone.

The file's text is ``templates/socialrank.toml.j2``, every setting with its default and what it does;
the repository's ``sample/socialrank.toml`` (the sample data's configuration) is this command's output for
``--site example.com --timezone America/Los_Angeles``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from pipeline.config import ConfigError, parse_timezone
from pipeline.hosts import NotAHostName, owned_hosts
from pipeline.project import var

TEMPLATE = "socialrank.toml.j2"
# The policy the written file names (its comments say what the other one does).
WRITTEN_WWW_POLICY = "strip"


def _toml_string(text: str) -> str:
    # A JSON string is a TOML basic string for the text it can hold here (validated names).
    return json.dumps(text, ensure_ascii=False)


def render_config(sites: Sequence[str], timezone: str) -> str:
    """The configuration file's text for these owned sites (as written) and time zone."""
    environment = Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    return environment.get_template(TEMPLATE).render(
        owned_sites="[" + ", ".join(_toml_string(site) for site in sites) + "]",
        timezone=_toml_string(timezone),
        platforms=", ".join(var("platforms")),
    )


def write_config(path: Path, sites: Sequence[str], timezone: str, force: bool) -> None:
    """Write the configuration file (never over an existing one unless ``force``). :class:`ConfigError`
    for a bad site or zone, or a file that exists."""
    try:
        parse_timezone(timezone)
    except ValueError as exc:
        raise ConfigError(f"--timezone: {exc}") from exc
    written = [site.strip() for site in sites]
    try:
        owned_hosts(written, WRITTEN_WWW_POLICY)
    except NotAHostName as exc:
        raise ConfigError(f"--site {exc}") from exc
    text = render_config(written, timezone)
    if force:
        path.write_text(text, encoding="utf-8")
        return
    try:
        with path.open("x", encoding="utf-8") as new_file:
            new_file.write(text)
    except FileExistsError as exc:
        raise ConfigError(
            f"{path} exists already: edit it, or pass --force to replace it (its settings are lost)"
        ) from exc
