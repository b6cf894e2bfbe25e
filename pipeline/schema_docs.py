"""The analysts' reference, in the warehouse: every core and mart table's and column's description.

The descriptions live in ``sql/models/core/schema.yml`` and ``sql/models/marts/schema.yml``, dbt's model
properties (``version: 2``, ``models:`` with ``name``, ``description`` and ``columns``) beside the models
of the dbt project (issue 19). After the models and the tables the build's Python fills exist,
:func:`persist` stores them as the catalog's comments, as dbt-duckdb's ``persist_docs`` does: an analyst
reads them in ``duckdb_tables().comment`` (``duckdb_views()`` for a view) and ``duckdb_columns().comment``.

Every core and mart relation and column of the catalog gets its comment from the files, or none: a
comment a base build left on something no longer described is cleared. Identifiers come from the catalog
(the files' names only look entries up), quoted. ``COMMENT ON`` takes no bound parameter (DuckDB 1.5
parses only a literal after ``IS``), so the text is written as a string literal
(:func:`pipeline.sql_quoting.sql_string`): the one place the build puts text into SQL, and that text is
the repository's own files, reviewed like the SQL models beside them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipeline.sql_quoting import quoted_identifier, sql_string

log = logging.getLogger(__name__)

# The documented schemas and the model folders (sql/models/<folder>/schema.yml) that build them.
DOCUMENTED_FOLDERS = {"core": "core", "mart": "marts"}
DOCUMENTED_LAYERS = tuple(DOCUMENTED_FOLDERS)
SCHEMA_FILE = "schema.yml"


class SchemaDocsError(ValueError):
    """A schema.yml that is not dbt's model properties as this project writes them."""


@dataclass(frozen=True)
class ModelDocs:
    """One model's entry: ``layer.name``, its description and its columns' (in the file's order)."""

    layer: str
    name: str
    description: str
    columns: dict[str, str]

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"


@dataclass
class Persisted:
    """What :func:`persist` did: comments stored, and where the files and the catalog disagree."""

    relations: int = 0
    columns: int = 0
    undocumented: list[str] = field(default_factory=list)
    """Relations and columns of the catalog no file describes (left without a comment)."""
    missing: list[str] = field(default_factory=list)
    """Relations and columns a file describes that the catalog does not have."""


def schema_files(sql_dir: Path) -> dict[str, Path]:
    """Each documented schema's file, in the dbt project ``sql_dir``."""
    return {layer: sql_dir / "models" / folder / SCHEMA_FILE for layer, folder in DOCUMENTED_FOLDERS.items()}


def load(sql_dir: Path) -> dict[str, ModelDocs]:
    """Every documented model, by ``layer.name``."""
    models: dict[str, ModelDocs] = {}
    for layer, path in schema_files(sql_dir).items():
        for model in _parse(path):
            columns: dict[str, str] = {}
            for column in model["columns"]:
                if column["name"] in columns:
                    raise SchemaDocsError(f"{path}: {model['name']}.{column['name']} is described twice")
                columns[column["name"]] = column["description"]
            docs = ModelDocs(layer, model["name"], model["description"], columns)
            if docs.relation in models:
                raise SchemaDocsError(f"{path}: model {docs.name!r} is described twice")
            models[docs.relation] = docs
    return models


def _parse(path: Path) -> list[dict[str, Any]]:
    """The ``models`` of one file, each checked to have a name, a description and described columns."""
    # libyaml's safe loader where PyYAML has it: a tenth of the pure-Python one's time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    dbt_properties = isinstance(document, dict) and document.get("version") == 2
    if not dbt_properties or not isinstance(document.get("models"), list):
        raise SchemaDocsError(f"{path}: expected dbt's properties file: 'version: 2' and a 'models:' list")
    models: list[dict[str, Any]] = document["models"]
    for model in models:
        _check_entry(path, model, "model")
        if not isinstance(model.get("columns"), list):
            raise SchemaDocsError(f"{path}: model {model['name']!r} has no 'columns:' list")
        for column in model["columns"]:
            _check_entry(path, column, f"column of {model['name']}")
    return models


def _check_entry(path: Path, entry: object, what: str) -> None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise SchemaDocsError(f"{path}: a {what} without a 'name'")
    description = entry.get("description")
    if not isinstance(description, str) or not description.strip():
        raise SchemaDocsError(f"{path}: {what} {entry['name']!r} has no 'description'")


def persist(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> Persisted:
    """Comment every core and mart table, view and column of the build ``con`` writes with its description."""
    docs = load(sql_dir)
    layers = list(DOCUMENTED_LAYERS)
    relations = con.execute(
        "SELECT schema_name, table_name, 'TABLE', comment FROM duckdb_tables() "
        "WHERE schema_name IN (SELECT unnest(?)) "
        "UNION ALL SELECT schema_name, view_name, 'VIEW', comment FROM duckdb_views() "
        "WHERE NOT internal AND schema_name IN (SELECT unnest(?)) ORDER BY ALL",
        [layers, layers],
    ).fetchall()
    columns = con.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE schema_name IN (SELECT unnest(?)) ORDER BY schema_name, table_name, column_index",
        [layers],
    ).fetchall()
    result = Persisted()
    statements = []
    in_catalog: set[str] = set()
    for schema, name, kind, comment in relations:
        relation = f"{schema}.{name}"
        in_catalog.add(relation)
        description = docs[relation].description if relation in docs else None
        if description is None:
            result.undocumented.append(relation)
        else:
            result.relations += 1
        if comment != description:
            target = f"{quoted_identifier(schema)}.{quoted_identifier(name)}"
            statements.append(f"COMMENT ON {kind} {target} IS {_literal(description)}")
    for schema, name, column, comment in columns:
        relation = f"{schema}.{name}"
        in_catalog.add(f"{relation}.{column}")
        description = docs[relation].columns.get(column) if relation in docs else None
        if description is None:
            result.undocumented.append(f"{relation}.{column}")
        else:
            result.columns += 1
        if comment != description:
            statements.append(
                f"COMMENT ON COLUMN {quoted_identifier(schema)}.{quoted_identifier(name)}."
                f"{quoted_identifier(column)} IS {_literal(description)}"
            )
    for relation, model in docs.items():
        result.missing += [
            documented
            for documented in (relation, *(f"{relation}.{column}" for column in model.columns))
            if documented not in in_catalog
        ]
    if statements:
        # One transaction: committed one by one, each comment would be a write-ahead-log commit of its own
        # (a second for the sample build's 334 instead of a fifth).
        con.begin()
        try:
            con.execute(";\n".join(statements))
        except BaseException:
            con.rollback()
            raise
        con.commit()
    log.info("described %d tables and views and %d columns", result.relations, result.columns)
    if result.undocumented:
        log.warning("not described in schema.yml (no comment): %s", ", ".join(result.undocumented))
    if result.missing:
        log.warning("described in schema.yml but not built: %s", ", ".join(result.missing))
    return result


def _literal(description: str | None) -> str:
    return "NULL" if description is None else sql_string(description)
