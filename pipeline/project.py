"""The project's own files: where ``sql/`` and ``expectations/`` are read from, and the constants they share.

The shared constants (the platforms, the event study's weeks...) live in one place, the ``vars:`` block
of the dbt project's ``sql/dbt_project.yml``: SQL models read them with ``{{ var('name') }}``
(:mod:`pipeline.sql_project` gives its templates :func:`var`, with dbt's semantics), expectation suites with
the same expression in a JSON string (:mod:`pipeline.gate`), Python with :func:`var`. The file is read once
per process, on first use, never on import: DAG files import modules that use it, and importing a DAG file
must stay cheap.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

VARS_FILE = "dbt_project.yml"
_NO_DEFAULT = object()


class UnknownVar(LookupError):
    """A name ``var()`` was asked for that the project's vars do not define (and no default was given)."""


def resource_dir() -> Path:
    """Where ``sql/`` and ``expectations/`` are read from: ``SOCIALRANK_PROJECT_DIR`` (a checkout whose SQL
    is being edited) or the installed package, which carries both (package data; in a checkout, links to
    the repository's top-level folders)."""
    configured = os.environ.get("SOCIALRANK_PROJECT_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent


def vars_path() -> Path:
    return resource_dir() / "sql" / VARS_FILE


@functools.cache
def _vars_of(path: Path) -> Mapping[str, Any]:
    """Every var of a project file, read once per file and process."""
    import yaml  # only when a value is first asked for: DAG files import this module

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("vars"), dict):
        raise ValueError(f"{path}: expected a mapping under a top-level 'vars:' key (as in dbt_project.yml)")
    return dict(document["vars"])


def var(name: str, default: Any = _NO_DEFAULT) -> Any:
    """The value of var ``name``, as dbt's ``var()``: ``default`` where the file does not define it, and
    without a default an error naming it."""
    values = _vars_of(vars_path())
    if name in values:
        return copy.deepcopy(values[name])  # the caller's own copy: the file is read once per process
    if default is not _NO_DEFAULT:
        return default
    raise UnknownVar(
        f"Required var {name!r} not found in {vars_path()} (defined: {', '.join(sorted(values))})"
    )
