"""A SQLAlchemy dialect that lets Great Expectations validate DuckDB in-database.

GX's SQL path on plain duckdb-engine loses results (``MetricResolutionError: list index out of
range`` on ``table.row_count``): the DuckDB cursor's result is gone once SQLAlchemy releases the
connection. This dialect buffers every result right after execution, so metrics are computed by
DuckDB and only their small results travel to Python: validation stays bounded in memory.
"""

from __future__ import annotations

import duckdb_engine
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg2 import PGExecutionContext_psycopg2
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy

DIALECT_NAME = "duckdb_buffered"


class BufferedExecutionContext(PGExecutionContext_psycopg2):
    def post_exec(self) -> None:
        super().post_exec()  # type: ignore[no-untyped-call]
        if self.cursor.description is not None:
            self.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(self.cursor)


class BufferedDuckDBDialect(duckdb_engine.Dialect):
    name = DIALECT_NAME
    supports_statement_cache = False
    execution_ctx_cls = BufferedExecutionContext


def register() -> None:
    registry.register(DIALECT_NAME, __name__, "BufferedDuckDBDialect")
