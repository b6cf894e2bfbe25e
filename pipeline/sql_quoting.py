"""Text as SQL, for the few DuckDB statements that take no bound parameters (``ATTACH``'s path,
``COMMENT ON``'s text) and for identifiers read from the catalog. Everything else binds its values."""

from __future__ import annotations


def sql_string(text: str) -> str:
    """``text`` as a DuckDB string literal: in single quotes, each single quote doubled (DuckDB's literals
    give backslashes no meaning). A NUL character is refused: DuckDB's parser ends the statement there; so
    is a lone surrogate, which no UTF-8 statement can carry."""
    if "\0" in text:
        raise ValueError("a SQL string literal cannot hold a NUL character")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"a SQL string literal cannot hold a lone surrogate: {exc.reason}") from None
    return "'" + text.replace("'", "''") + "'"


def quoted_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier, whatever its characters: in double quotes, each one doubled."""
    if "\0" in name:
        raise ValueError("a SQL identifier cannot hold a NUL character")
    return '"' + name.replace('"', '""') + '"'
