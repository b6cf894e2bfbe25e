"""A dbt-duckdb plugin (``plugins:`` in ``sql/profiles.yml``): each cursor dbt opens gets the run's parameters
as DuckDB variables (:mod:`pipeline.run_variables`), as the build's own connection does."""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from pipeline.run_variables import set_run_variables


class Plugin(BasePlugin):
    def configure_cursor(self, cursor: Any) -> None:
        # The hooks' own cursor opens before the on-run-start hook has written the parameters: none to set.
        set_run_variables(cursor)
