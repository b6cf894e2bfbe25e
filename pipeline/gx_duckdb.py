"""A SQLAlchemy dialect that lets Great Expectations validate DuckDB in-database.

GX's SQL path on plain duckdb-engine loses results (``MetricResolutionError: list index out of
range`` on ``table.row_count``): the DuckDB cursor's result is gone once SQLAlchemy releases the
connection. This dialect buffers every result right after execution, so metrics are computed by
DuckDB and only their small results travel to Python: validation stays bounded in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb_engine
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg2 import PGExecutionContext_psycopg2
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

DIALECT_NAME = "duckdb_buffered"
WAREHOUSE_SEARCH_PATH = "core,mart,meta"


class BufferedExecutionContext(PGExecutionContext_psycopg2):
    def post_exec(self) -> None:
        super().post_exec()  # type: ignore[no-untyped-call]
        if self.cursor.description is not None:
            self.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(self.cursor)


class BufferedDuckDBDialect(duckdb_engine.Dialect):
    name = DIALECT_NAME
    supports_statement_cache = False
    execution_ctx_cls = BufferedExecutionContext

    # duckdb-engine annotates on_connect as returning None; SQLAlchemy's contract is "a callable or None".
    def on_connect(self) -> Callable[[Any], None]:  # type: ignore[override]
        def connect(dbapi_connection: Any) -> None:
            # GX learns a table asset's columns with a query that drops the schema name: let the
            # warehouse's table names resolve unqualified (they are unique across these schemas).
            dbapi_connection.execute(f"SET search_path = '{WAREHOUSE_SEARCH_PATH}'")

        return connect


def register() -> None:
    registry.register(DIALECT_NAME, __name__, "BufferedDuckDBDialect")
