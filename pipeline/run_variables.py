"""The run's parameters as DuckDB variables, on every connection that builds the warehouse.

The models read the run's parameters (``as_of``, ``site_timezone``, ``owned_url_pattern``, ...) with
``getvariable()``. A DuckDB variable belongs to one connection, and dbt-duckdb opens a cursor per model, so
the parameters live in a table, ``meta.run_parameters`` (written by the ``on-run-start`` hook from the run's
vars: ``sql/macros/run_parameters.sql``), and each connection sets them from its row when it opens: the
build's own connection after the hooks and after every model, dbt's cursors through the plugin of
:mod:`pipeline.dbt_plugin`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb

RUN_PARAMETERS = "meta.run_parameters"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def set_run_variables(con: duckdb.DuckDBPyConnection) -> bool:
    """Set one variable per column of ``meta.run_parameters``; False when the table does not exist yet."""
    try:
        cursor = con.execute(f"SELECT * FROM {RUN_PARAMETERS}")
    except duckdb.CatalogException:
        return False
    names = [column[0] for column in cursor.description or ()]
    if cursor.fetchone() is None:
        raise ValueError(f"{RUN_PARAMETERS} is empty: the on-run-start hook writes its one row")
    for name in names:
        if not _IDENTIFIER.match(name):  # the table's own columns: fixed identifiers, checked all the same
            raise ValueError(f"{RUN_PARAMETERS}: {name!r} is no variable name")
        # From the table, not a bound value: a NULL keeps its type (VARCHAR[] for new_deliveries).
        con.execute(f"SET VARIABLE {name} = (SELECT {name} FROM {RUN_PARAMETERS})")
    return True


def build_vars(build: Path) -> dict[str, Any]:
    """The vars a finished build ran with (its ``meta.run_parameters``, but the ``new_deliveries`` a model
    records), as ``dbt --vars`` takes them: to compile the project as that build did."""
    con = duckdb.connect(str(build), read_only=True)
    try:
        cursor = con.execute(f"SELECT * EXCLUDE (new_deliveries) FROM {RUN_PARAMETERS}")
        names = [column[0] for column in cursor.description or ()]
        row = cursor.fetchone()
    finally:
        con.close()
    if row is None:
        raise ValueError(f"{build}: {RUN_PARAMETERS} is empty")
    return {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in zip(names, row, strict=True)
    }
