"""A SQLAlchemy dialect that lets Great Expectations validate DuckDB in-database.

GX's SQL path on plain duckdb-engine loses results (``MetricResolutionError: list index out of
range`` on ``table.row_count``): the DuckDB cursor's result is gone once SQLAlchemy releases the
connection. This dialect buffers every result right after execution, so metrics are computed by
DuckDB and only their small results travel to Python: validation stays bounded in memory.

Connections can attach more DuckDB files read-only (the ``attach`` connect argument: alias to
path), whose tables resolve unqualified after the warehouse's: the gate validates an incremental
build's rewritten rows from a side file.
"""

from __future__ import annotations

from typing import Any

import duckdb_engine
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg2 import PGExecutionContext_psycopg2
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

from pipeline.sql_quoting import sql_string

DIALECT_NAME = "duckdb_buffered"
WAREHOUSE_SCHEMAS = ("core", "mart", "meta")


class BufferedExecutionContext(PGExecutionContext_psycopg2):
    def post_exec(self) -> None:
        super().post_exec()  # type: ignore[no-untyped-call]
        if self.cursor.description is not None:
            self.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(self.cursor)


class BufferedDuckDBDialect(duckdb_engine.Dialect):
    name = DIALECT_NAME
    supports_statement_cache = False
    execution_ctx_cls = BufferedExecutionContext

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        attach: dict[str, str] = cparams.pop("attach", {})
        connection = super().connect(*cargs, **cparams)
        for alias, path in attach.items():
            # Attached databases belong to the database instance, which connections to one file share.
            connection.execute(f"ATTACH IF NOT EXISTS {sql_string(path)} AS {alias} (READ_ONLY)")
        # GX learns a table asset's columns with a query that drops the schema name: let the warehouse's
        # table names (unique across these schemas), then the attached files', resolve unqualified.
        search_path = ",".join([*WAREHOUSE_SCHEMAS, *(f"{alias}.main" for alias in attach)])
        connection.execute(f"SET search_path = '{search_path}'")
        return connection


def register() -> None:
    registry.register(DIALECT_NAME, __name__, "BufferedDuckDBDialect")
